/* clock.c - the one clock (sf_clock.h). */
#include "sf_clock.h"

static int64_t ms_of(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sf_now_ms(void)
{
    return ms_of(CLOCK_REALTIME);
}

int64_t sf_mono_ms(void)
{
    return ms_of(CLOCK_MONOTONIC);
}

struct timespec sf_clock_at(int64_t wall_ms)
{
    struct timespec ts = { (time_t)(wall_ms / 1000), (long)(wall_ms % 1000) * 1000000L };
    return ts;
}

struct timespec sf_clock_after(int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}
