/* A test's LD_PRELOAD library: shifts the wall clock (CLOCK_REALTIME, gettimeofday, time)
 * of a process by the whole seconds written in the file named by CLOCKSHIFT_FILE, read
 * again at most once a second, and leaves every other clock alone. So a test steps the
 * wall clock of a running ApplicationMaster, as NTP or a VM restored from a snapshot do.
 *
 * Why not libfaketime: with the monotonic clock left real (FAKETIME_DONT_FAKE_MONOTONIC)
 * its timed-wait wrappers make a JVM spin (3 times the CPU, an AM 6 times slower to start).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);

static clock_gettime_fn real_clock_gettime;
static volatile long shift_seconds;
static volatile time_t read_again_at;

static clock_gettime_fn real(void) {
    if (!real_clock_gettime)
        real_clock_gettime = (clock_gettime_fn)dlsym(RTLD_NEXT, "clock_gettime");
    return real_clock_gettime;
}

static long shift(void) {
    struct timespec now;
    if (real()(CLOCK_MONOTONIC_COARSE, &now) == 0 && now.tv_sec >= read_again_at) {
        read_again_at = now.tv_sec + 1;
        const char *path = getenv("CLOCKSHIFT_FILE");
        FILE *f = path ? fopen(path, "r") : NULL;
        long seconds;
        if (f) {
            if (fscanf(f, "%ld", &seconds) == 1)
                shift_seconds = seconds;
            fclose(f);
        }
    }
    return shift_seconds;
}

int clock_gettime(clockid_t id, struct timespec *ts) {
    int result = real()(id, ts);
    if (result == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE))
        ts->tv_sec += shift();
    return result;
}

int gettimeofday(struct timeval *tv, void *tz) {
    struct timespec ts;
    (void)tz;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return -1;
    tv->tv_sec = ts.tv_sec;
    tv->tv_usec = ts.tv_nsec / 1000;
    return 0;
}

time_t time(time_t *out) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (out)
        *out = ts.tv_sec;
    return ts.tv_sec;
}
