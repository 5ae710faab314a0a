#include "internal.h"

#include "backoff.h"
#include "dispatch.h"

int dispatch_idempotent(uint32_t m)
{
    switch (m) {
    case CSDK_M_GET: case CSDK_M_LIST: case CSDK_M_INFO: case CSDK_M_URL:
    case CSDK_M_DESTROY: case CSDK_M_READ_FILE: case CSDK_M_WRITE_FILE:
    case CSDK_M_MKDIR: case CSDK_M_READDIR: case CSDK_M_EXISTS:
    case CSDK_M_REMOVE: case CSDK_M_FIND: case CSDK_M_TEMPLATE_LIST:
    case CSDK_M_SNAPSHOT_LIST:
        return 1;
    default:
        /* create, run_*, find_or_create (the plugin makes it atomic, the
         * host must not make it twice), extend (adds), saved create and
         * delete (a lost reply would turn into NOT_FOUND). */
        return 0;
    }
}

/* Take a rate-limit token, waiting if allowed.  Returns CSDK_OK, or
 * CSDK_E_RATE_LIMITED with the wait recorded on the call. */
static csdk_status_t rate_wait(struct csdk_instance *in, csdk_call_t *call,
                               uint32_t flags, int *limited)
{
    for (;;) {
        uint64_t now = clock_mono_ns(), wait;
        pthread_mutex_lock(&in->rl_lock);
        wait = ratelimit_take(&in->rl, now);
        pthread_mutex_unlock(&in->rl_lock);
        if (wait == 0)
            return CSDK_OK;
        *limited = 1;
        if ((flags & CSDK_CALL_NO_WAIT) ||
            (call->deadline_ns && now + wait > call->deadline_ns)) {
            call->retry_after_ms = (wait + 999999) / 1000000;
            return call_host_table.error(
                call, CSDK_E_RATE_LIMITED,
                "rate limit of %.3g calls/s reached; retry after %llu ms or "
                "raise rate_limit in [provider.%s]",
                in->rl.rate, (unsigned long long)call->retry_after_ms,
                in->name);
        }
        clock_sleep_ns(wait);
    }
}

csdk_status_t dispatch_call(struct csdk_instance *in, uint32_t m,
                            uint64_t deadline_ms, uint32_t flags,
                            dispatch_invoke_fn *invoke, const void *args,
                            csdk_call_t *call, csdk_error_t *err)
{
    const logger_t *lg = &in->host->log;
    uint64_t t0 = clock_mono_ns(), t1;
    uint32_t attempt = 0;
    int limited = 0;
    csdk_status_t rc;

    /* Deadlines beyond ~290 years are no deadline (and cannot wrap). */
    call->deadline_ns = deadline_ms && deadline_ms < UINT64_MAX / 4000000u
                            ? t0 + deadline_ms * 1000000u
                            : 0;
    for (;;) {
        if (in->rl.rate > 0 &&
            (rc = rate_wait(in, call, flags, &limited)) != CSDK_OK)
            break;
        if (!in->thread_safe)
            pthread_mutex_lock(&in->lock);
        rc = invoke(in, call, args);
        if (!in->thread_safe)
            pthread_mutex_unlock(&in->lock);
        /* Running out of memory for the output makes write() ask the
         * plugin to stop, so it may say CANCELLED: the cause is NOMEM. */
        if (call->oom)
            rc = call_host_table.error(call, CSDK_E_NOMEM,
                                       "out of memory storing the result");
        /* A plugin that stopped because the deadline passed (not because
         * the caller cancelled) timed out, whatever it answered. */
        if (rc == CSDK_E_CANCELLED && !call->cancelled && call->deadline_ns &&
            clock_mono_ns() >= call->deadline_ns)
            rc = call_host_table.error(call, CSDK_E_TIMEOUT,
                                       "the call's deadline of %llu ms passed",
                                       (unsigned long long)deadline_ms);
        if (rc == CSDK_OK || attempt >= in->retries ||
            !status_is_transient(rc) || !dispatch_idempotent(m) ||
            call->forwarded)
            break;
        {
            uint64_t delay = backoff_delay_ms(attempt, call->retry_after_ms,
                                              clock_random_u32());
            uint64_t now = clock_mono_ns();
            if (delay > DISPATCH_MAX_WAIT_MS)
                break; /* the caller decides about waits that long */
            if (call->deadline_ns &&
                now + delay * 1000000u >= call->deadline_ns)
                break; /* no time left for another try: report this one */
            if (log_enabled(lg, CSDK_LOG_INFO))
                log_msg(lg, CSDK_LOG_INFO, in->who,
                        "%s failed (%s: %s); retry %u of %u in %llu ms",
                        csdk_method_name(m), csdk_status_name(rc), call->msg,
                        attempt + 1, in->retries, (unsigned long long)delay);
            clock_sleep_ns(delay * 1000000u);
        }
        attempt++;
        call_reset(call);
    }
    t1 = clock_mono_ns();
    metrics_record(&in->metrics[m], t1 - t0, rc != CSDK_OK, attempt, limited);
    if (log_enabled(lg, CSDK_LOG_DEBUG))
        log_msg(lg, CSDK_LOG_DEBUG, in->who, "%s: %s in %llu us",
                csdk_method_name(m), csdk_status_name(rc),
                (unsigned long long)((t1 - t0) / 1000u));
    if (rc != CSDK_OK && err) {
        if (call->msg[0])
            error_set(err, rc, "%s: %s: %s", in->who, csdk_method_name(m),
                      call->msg);
        else
            error_set(err, rc, "%s: %s: failed with %s (the plugin gave no "
                      "detail)", in->who, csdk_method_name(m),
                      csdk_status_name(rc));
        err->retry_after_ms = call->retry_after_ms;
    }
    return rc;
}
