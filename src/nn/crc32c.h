/*
 * crc32c.h
 *		CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as used by
 *		iSCSI, ext4 and PostgreSQL's WAL.  Checks the integrity of model blobs
 *		(model-spec §5.14 "Model blob").
 *
 * Usage: crc = nn_crc32c(0, buf, len); chaining works:
 *		nn_crc32c(nn_crc32c(0, a, na), b, nb) == nn_crc32c(0, ab, na + nb).
 * The pre- and post-inversion are done inside, so the running value passed
 * in is always a finished CRC (0 for the empty string).
 */
#ifndef CNNREC_NN_CRC32C_H
#define CNNREC_NN_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* CRC-32C of data[0..len), continuing from a previous result crc (0 to start). */
extern uint32_t nn_crc32c(uint32_t crc, const void *data, size_t len);

/* Portable slicing-by-8 implementation (what nn_crc32c uses without SSE4.2). */
extern uint32_t nn_crc32c_sw(uint32_t crc, const void *data, size_t len);

/* 1 if nn_crc32c uses the SSE4.2 crc32 instruction on this CPU, else 0. */
extern int	nn_crc32c_hw_available(void);

#endif							/* CNNREC_NN_CRC32C_H */
