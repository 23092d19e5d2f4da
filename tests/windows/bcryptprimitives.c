/*
 * TEST-ONLY stand-in for bcryptprimitives.dll under Wine 8, which lacks it. Rust std (>= 1.78)
 * imports ProcessPrng from it for its random numbers (HashMap keys, etc.); every Windows since
 * 10 has it. This shim answers ProcessPrng with advapi32's RtlGenRandom (SystemFunction036),
 * which Wine has. scripts/windows copies it next to a test executable; it is never shipped.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length); /* RtlGenRandom, advapi32 */

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    while (length > 0) {
        ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
