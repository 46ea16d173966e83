/*
 * test_crc32c.c
 *		CRC-32C test vectors (the "check" value and RFC 3720 appendix B.4),
 *		chaining, and the SSE4.2 path against the portable slicing-by-8 on
 *		every length and misalignment.
 */
#include <stdlib.h>
#include <string.h>

#include "nn/crc32c.h"
#include "nn/rng.h"
#include "tap.h"

int
main(void)
{
	static const uint8_t pdu[48] = {
		0x01, 0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0x14, 0, 0, 0, 0, 0, 0x04, 0, 0, 0, 0, 0x14, 0, 0, 0, 0x18,
		0x28, 0, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0, 0, 0, 0,
	};
	uint8_t		buf[1100];
	uint8_t		b32[32];
	NnRng		r;
	int			i;
	int			bad = 0;
	int			chain_bad = 0;

	ok(nn_crc32c(0, "123456789", 9) == 0xE3069283u, "\"123456789\" -> 0xE3069283");
	ok(nn_crc32c_sw(0, "123456789", 9) == 0xE3069283u, "portable: \"123456789\" -> 0xE3069283");
	ok(nn_crc32c(0, "", 0) == 0 && nn_crc32c(0, "a", 1) == 0xC1D04330u, "empty -> 0, \"a\" -> 0xC1D04330");
	memset(b32, 0, 32);
	ok(nn_crc32c(0, b32, 32) == 0x8A9136AAu, "RFC 3720: 32 zero bytes -> 0x8A9136AA");
	memset(b32, 0xff, 32);
	ok(nn_crc32c(0, b32, 32) == 0x62A8AB43u, "RFC 3720: 32 0xFF bytes -> 0x62A8AB43");
	for (i = 0; i < 32; i++)
		b32[i] = (uint8_t) i;
	ok(nn_crc32c(0, b32, 32) == 0x46DD794Eu, "RFC 3720: 00..1F -> 0x46DD794E");
	for (i = 0; i < 32; i++)
		b32[i] = (uint8_t) (31 - i);
	ok(nn_crc32c(0, b32, 32) == 0x113FDB5Cu, "RFC 3720: 1F..00 -> 0x113FDB5C");
	ok(nn_crc32c(0, pdu, 48) == 0xD9963A56u && nn_crc32c_sw(0, pdu, 48) == 0xD9963A56u,
	   "RFC 3720: iSCSI read PDU -> 0xD9963A56");

	nn_rng_seed(&r, 9, 9);
	for (i = 0; i < (int) sizeof(buf); i++)
		buf[i] = (uint8_t) nn_rng_next(&r);
	for (i = 0; i < 1000; i++)
	{
		int			off = i % 8;
		int			len = i;
		int			cut = len / 3;
		uint32_t	whole = nn_crc32c_sw(0, buf + off, (size_t) len);

		bad += nn_crc32c(0, buf + off, (size_t) len) != whole;
		chain_bad += nn_crc32c(nn_crc32c(0, buf + off, (size_t) cut), buf + off + cut,
							   (size_t) (len - cut)) != whole;
	}
	ok(bad == 0, "dispatching CRC == portable CRC on lengths 0..999, offsets 0..7");
	ok(chain_bad == 0, "crc(crc(a), b) == crc(ab)");
	diag("SSE4.2 crc32 instruction %s", nn_crc32c_hw_available() ? "used" : "not available");
	is_double((double) nn_crc32c(0, buf, 0), 0.0, 0.0, "zero length leaves 0");
	return done_testing();
}
