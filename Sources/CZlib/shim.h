// zlib from the system (Debian: zlib1g-dev): its crc32, which uses the CPU's carry-less
// multiply or slicing tables, for the CRC-32 that bundles' zip headers need.
#include <zlib.h>
