/* Callgrind client requests callable through ctypes: bench/attribution.py counts segments of one process. */
#include <valgrind/callgrind.h>

void marks_start(void) { CALLGRIND_START_INSTRUMENTATION; }
void marks_stop(void) { CALLGRIND_STOP_INSTRUMENTATION; }
void marks_zero(void) { CALLGRIND_ZERO_STATS; }
void marks_dump(const char *name) { CALLGRIND_DUMP_STATS_AT(name); }
