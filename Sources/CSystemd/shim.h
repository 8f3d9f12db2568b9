#ifndef SPINEPLAN_CSYSTEMD_SHIM_H
#define SPINEPLAN_CSYSTEMD_SHIM_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

/* sd_journal_send is variadic, which Swift cannot call: send a fixed set of fields instead. */
static inline int spineplan_journal_send(int priority, const char *message, const char *const *fields, int count) {
    struct iovec iov[40];
    char prio[32];
    int n = 0;
    snprintf(prio, sizeof prio, "PRIORITY=%d", priority);
    iov[n].iov_base = prio; iov[n].iov_len = strlen(prio); n++;
    size_t mlen = strlen(message) + 9;
    char *m = (char *)malloc(mlen);
    if (!m) return -12;
    snprintf(m, mlen, "MESSAGE=%s", message);
    iov[n].iov_base = m; iov[n].iov_len = strlen(m); n++;
    for (int i = 0; i < count && n < 40; i++) {
        iov[n].iov_base = (void *)fields[i]; iov[n].iov_len = strlen(fields[i]); n++;
    }
    int rc = sd_journal_sendv(iov, n);
    free(m);
    return rc;
}
#endif
