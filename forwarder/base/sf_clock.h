/* sf_clock.h - the one clock of siemfwd. Wall time (epoch ms) for what is
 * stored, shown or compared with API times; monotonic time for timeouts and
 * backoff, which must not jump with the wall clock; and the absolute
 * deadline pthread_cond_timedwait wants. Nothing else calls clock_gettime. */
#ifndef SF_CLOCK_H
#define SF_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Wall clock, epoch milliseconds. */
int64_t sf_now_ms(void);
/* Monotonic milliseconds (arbitrary origin): durations, deadlines, backoff. */
int64_t sf_mono_ms(void);
/* The CLOCK_REALTIME instant ms from now, for pthread_cond_timedwait. */
struct timespec sf_clock_after(int64_t ms);
/* The CLOCK_REALTIME instant at wall time ms (epoch), for pthread_cond_timedwait. */
struct timespec sf_clock_at(int64_t wall_ms);

#endif
