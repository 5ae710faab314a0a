/*
 * tests/local/local_api.c - the local provider through the public C API,
 * with real bubblewrap: templates and snapshots, cancellation by the
 * caller and by the call's deadline, output caps, stdin, background code,
 * extend and find.  The shell tests (local_*.sh) cover what the csdk
 * command exposes; this covers what only the API reaches.
 *
 * Exits 77 (skip) when bwrap cannot create namespaces on this machine.
 */
#include <csdk/csdk.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int failures;

#define CHECK(cond)                                                         \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,          \
                    __LINE__, #cond);                                       \
            failures++;                                                     \
        }                                                                   \
    } while (0)

#define CHECK_OK(expr, err)                                                 \
    do {                                                                    \
        csdk_status_t st_ = (expr);                                         \
        if (st_ != CSDK_OK) {                                               \
            fprintf(stderr, "%s:%d: %s -> %s: %s\n", __FILE__, __LINE__,    \
                    #expr, csdk_status_name(st_), (err).message);           \
            failures++;                                                     \
        }                                                                   \
    } while (0)

static csdk_t *h;
static csdk_error_t err;

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Run a shell command in `id`; its stdout in *out (malloc'd). */
static csdk_status_t sh(const char *id, const char *cmd, csdk_result_t *res)
{
    csdk_run_opts_t ro;

    memset(&ro, 0, sizeof ro);
    ro.struct_size = sizeof ro;
    ro.shell = cmd;
    memset(&err, 0, sizeof err);
    return csdk_run_command(h, id, &ro, NULL, res, &err);
}

/* The stdout of a shell command that must succeed. */
static char *sh_out(const char *id, const char *cmd)
{
    csdk_result_t res;
    char *out;

    CHECK_OK(sh(id, cmd, &res), err);
    out = strdup(res.out ? res.out : "");
    csdk_result_clear(&res);
    return out;
}

static char *create(const csdk_create_opts_t *opts, csdk_sandbox_t *sbout)
{
    csdk_sandbox_t sb;
    char *id;

    memset(&err, 0, sizeof err);
    CHECK_OK(csdk_create(h, "local", opts, NULL, &sb, &err), err);
    if (sb.id == NULL) {
        fprintf(stderr, "create failed: %s\n", err.message);
        exit(1);
    }
    id = strdup(sb.id);
    if (sbout)
        *sbout = sb;
    else
        csdk_sandbox_clear(&sb);
    return id;
}

static void destroy(char *id)
{
    memset(&err, 0, sizeof err);
    CHECK_OK(csdk_destroy(h, id, NULL, &err), err);
    free(id);
}

/* ------------------------------------------------------------------ */

static void test_templates_and_snapshots(void)
{
    csdk_kv_t env[] = {{"FROM_TEMPLATE", "yes"}};
    csdk_create_opts_t co;
    csdk_sandbox_t sb;
    csdk_saved_t *items;
    size_t n;
    char *a, *b, *c, *tpl = NULL, *snap = NULL, *s;
    int found;

    memset(&co, 0, sizeof co);
    co.struct_size = sizeof co;
    co.runtime = "python";
    co.env = env;
    co.n_env = 1;
    a = create(&co, NULL);
    free(sh_out(a, "echo original > hello.txt && mkdir -p d/e && "
                   "echo deep > d/e/f && ln -s d/e/f link && "
                   "printf '#!/bin/sh\\necho ran\\n' > run.sh && "
                   "chmod 750 run.sh && echo dot > ~/.profile-x"));

    CHECK_OK(csdk_saved_create(h, CSDK_SAVED_TEMPLATE, a, "base", NULL, &tpl,
                               &err), err);
    CHECK(tpl != NULL && strncmp(tpl, "local:lt-", 9) == 0);
    CHECK_OK(csdk_saved_create(h, CSDK_SAVED_SNAPSHOT, a, NULL, NULL, &snap,
                               &err), err);
    CHECK(snap != NULL && strncmp(snap, "local:ls-", 9) == 0);
    if (tpl == NULL || snap == NULL)
        return;

    CHECK_OK(csdk_saved_list(h, CSDK_SAVED_TEMPLATE, "local", NULL, &items,
                             &n, &err), err);
    found = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(items[i].id, tpl) == 0 && items[i].name != NULL &&
            strcmp(items[i].name, "base") == 0 && items[i].created_ms > 0)
            found = 1;
    CHECK(found);
    csdk_saved_free(items, n);
    CHECK_OK(csdk_saved_list(h, CSDK_SAVED_SNAPSHOT, "local", NULL, &items,
                             &n, &err), err);
    CHECK(n == 1 && strcmp(items[0].id, snap) == 0);
    csdk_saved_free(items, n);

    /* A sandbox from the template has its files, modes, symlinks, $HOME,
     * runtime and environment. */
    memset(&co, 0, sizeof co);
    co.struct_size = sizeof co;
    co.template_id = tpl;
    b = create(&co, &sb);
    CHECK(sb.runtime != NULL && strcmp(sb.runtime, "python") == 0);
    csdk_sandbox_clear(&sb);
    s = sh_out(b, "cat hello.txt d/e/f; readlink link; ./run.sh; "
                  "stat -c %a run.sh; cat ~/.profile-x; echo $FROM_TEMPLATE");
    CHECK(strcmp(s, "original\ndeep\nd/e/f\nran\n750\ndot\nyes\n") == 0);
    free(s);
    /* Changing it changes neither its source nor the template. */
    free(sh_out(b, "echo changed > hello.txt"));
    s = sh_out(a, "cat hello.txt");
    CHECK(strcmp(s, "original\n") == 0);
    free(s);
    co.template_id = tpl + 6; /* the native id works too */
    c = create(&co, NULL);
    s = sh_out(c, "cat hello.txt");
    CHECK(strcmp(s, "original\n") == 0);
    free(s);
    destroy(c);
    co.template_id = snap;
    c = create(&co, NULL);
    s = sh_out(c, "cat d/e/f");
    CHECK(strcmp(s, "deep\n") == 0);
    free(s);
    destroy(c);

    /* Delete: gone from the list, a second delete is NOT_FOUND, and so is
     * creating from it; the kinds do not mix. */
    CHECK(csdk_saved_delete(h, CSDK_SAVED_SNAPSHOT, tpl, NULL, &err) ==
          CSDK_E_NOT_FOUND);
    CHECK_OK(csdk_saved_delete(h, CSDK_SAVED_TEMPLATE, tpl, NULL, &err), err);
    CHECK(csdk_saved_delete(h, CSDK_SAVED_TEMPLATE, tpl, NULL, &err) ==
          CSDK_E_NOT_FOUND);
    CHECK_OK(csdk_saved_list(h, CSDK_SAVED_TEMPLATE, "local", NULL, &items,
                             &n, &err), err);
    CHECK(n == 0);
    csdk_saved_free(items, n);
    co.template_id = tpl;
    CHECK(csdk_create(h, "local", &co, NULL, &sb, &err) == CSDK_E_NOT_FOUND);
    CHECK_OK(csdk_saved_delete(h, CSDK_SAVED_SNAPSHOT, snap, NULL, &err), err);
    free(tpl);
    free(snap);
    destroy(a);
    destroy(b);
}

/* ------------------------------------------------------------------ */

static int32_t stop_at_once(void *ud, int32_t stream, const void *data,
                            size_t len)
{
    (void)stream;
    (void)data;
    (void)len;
    ++*(int *)ud;
    return 1;
}

static void test_cancel_and_deadline(const char *id)
{
    csdk_run_opts_t ro;
    csdk_call_opts_t cp;
    csdk_result_t res;
    csdk_status_t st;
    uint64_t t0;
    int chunks = 0;
    char *s;

    /* The caller stops reading: CANCELLED, and the command is killed. */
    memset(&ro, 0, sizeof ro);
    ro.struct_size = sizeof ro;
    ro.shell = "yes csdk-cancel-mark";
    memset(&cp, 0, sizeof cp);
    cp.struct_size = sizeof cp;
    cp.on_output = stop_at_once;
    cp.output_ud = &chunks;
    t0 = now_ms();
    st = csdk_run_command(h, id, &ro, &cp, &res, &err);
    csdk_result_clear(&res);
    CHECK(st == CSDK_E_CANCELLED);
    CHECK(chunks == 1);
    CHECK(now_ms() - t0 < 5000);
    usleep(200000);
    s = sh_out(id, "ps -eo args | grep -c '^[y]es csdk-cancel-mark' || :");
    CHECK(strcmp(s, "0\n") == 0);
    free(s);

    /* The call's deadline passes: TIMEOUT, and the command is killed. */
    ro.shell = "sleep 30; : csdk-deadline-mark";
    memset(&cp, 0, sizeof cp);
    cp.struct_size = sizeof cp;
    cp.deadline_ms = 300;
    t0 = now_ms();
    st = csdk_run_command(h, id, &ro, &cp, &res, &err);
    csdk_result_clear(&res);
    CHECK(st == CSDK_E_TIMEOUT);
    CHECK(now_ms() - t0 < 5000);
    usleep(200000);
    s = sh_out(id, "ps -eo args | grep -c '[c]sdk-deadline-mark' || :");
    CHECK(strcmp(s, "0\n") == 0);
    free(s);

    /* The command's own timeout: a result flagged TIMED_OUT. */
    ro.shell = "sleep 30";
    ro.timeout_ms = 200;
    t0 = now_ms();
    CHECK_OK(csdk_run_command(h, id, &ro, NULL, &res, &err), err);
    CHECK(res.flags & CSDK_RESULT_TIMED_OUT);
    CHECK(now_ms() - t0 < 5000);
    csdk_result_clear(&res);
}

static void test_run_options(const char *id)
{
    static const char input[] = "one\0two\nthree";
    csdk_run_opts_t ro;
    csdk_result_t res;
    csdk_status_t st;
    char *s;

    memset(&ro, 0, sizeof ro);
    ro.struct_size = sizeof ro;

    /* max_output per call. */
    ro.shell = "head -c 100000 /dev/zero; echo done >&2";
    ro.max_output = 1000;
    CHECK_OK(csdk_run_command(h, id, &ro, NULL, &res, &err), err);
    CHECK(res.out_len == 1000);
    CHECK(res.flags & CSDK_RESULT_TRUNCATED);
    csdk_result_clear(&res);
    ro.max_output = 0;

    /* stdin bytes, binary. */
    ro.shell = "od -An -c | tr -s ' '";
    ro.stdin_data = input;
    ro.stdin_len = sizeof input - 1;
    CHECK_OK(csdk_run_command(h, id, &ro, NULL, &res, &err), err);
    CHECK(res.out != NULL && strstr(res.out, "o n e \\0 t w o \\n t h r e e"));
    csdk_result_clear(&res);
    ro.stdin_data = NULL;
    ro.stdin_len = 0;

    /* argv without a shell: arguments arrive as given. */
    {
        const char *argv[] = {"printf", "[%s]", "a b", "$HOME", "", NULL};

        ro.shell = NULL;
        ro.argv = argv;
        CHECK_OK(csdk_run_command(h, id, &ro, NULL, &res, &err), err);
        CHECK(res.out != NULL && strcmp(res.out, "[a b][$HOME][]") == 0);
        csdk_result_clear(&res);
        ro.argv = NULL;
    }

    /* Background code keeps running and reports its pid. */
    ro.flags = CSDK_RUN_BACKGROUND;
    {
        static const char code[] = "import time\ntime.sleep(60)\n";

        st = csdk_run_code(h, id, code, sizeof code - 1, "python", &ro, NULL,
                           &res, &err);
    }
    CHECK_OK(st, err);
    CHECK(res.pid > 1);
    csdk_result_clear(&res);
    s = sh_out(id, "sleep 0.3; ps -eo args | grep -c '[c]sdk-code' || :");
    CHECK(strcmp(s, "1\n") == 0);
    free(s);
    ro.flags = 0;

    /* Syntax errors keep the interpreter's message in the result. */
    st = csdk_run_code(h, id, "def f(:\n", 8, "python", &ro, NULL, &res,
                       &err);
    CHECK(st == CSDK_E_SYNTAX);
    CHECK(res.flags & CSDK_RESULT_SYNTAX);
    CHECK(res.err != NULL && strstr(res.err, "SyntaxError") != NULL);
    CHECK(strstr(err.message, "SyntaxError") != NULL);
    csdk_result_clear(&res);
}

static void test_named_and_extend(void)
{
    csdk_sandbox_t a, b;
    char *id;

    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    CHECK_OK(csdk_find_or_create(h, "local", "team", "box", NULL, NULL, &a,
                                 &err), err);
    CHECK(a.created == 1);
    CHECK_OK(csdk_find(h, "local", "team", "box", NULL, &b, &err), err);
    CHECK(a.id && b.id && strcmp(a.id, b.id) == 0);
    CHECK(b.name && strcmp(b.name, "box") == 0);
    CHECK(b.status && strcmp(b.status, "running") == 0);
    csdk_sandbox_clear(&b);
    CHECK_OK(csdk_extend_timeout(h, a.id, 60000, NULL, &b, &err), err);
    CHECK(b.expires_ms >= a.expires_ms + 60000);
    csdk_sandbox_clear(&b);
    id = strdup(a.id);
    csdk_sandbox_clear(&a);
    destroy(id);
    CHECK(csdk_find(h, "local", "team", "box", NULL, &b, &err) ==
          CSDK_E_NOT_FOUND);
}

/* The bwrap monitor's pid of sandbox `id`, from its meta file. */
static long bwrap_pid(const char *root, const char *id)
{
    const char *native = strchr(id, ':') ? strchr(id, ':') + 1 : id;
    char path[512], line[256];
    long pid = -1;
    FILE *f;

    snprintf(path, sizeof path, "%s/sandboxes/%s/meta", root, native);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "bwrap_pid=", 10) == 0)
            pid = strtol(line + 10, NULL, 10);
    fclose(f);
    return pid;
}

/* The first child of `pid` (the agent is bwrap's only child). */
static long first_child(long pid)
{
    char path[64];
    long child = -1;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%ld/task/%ld/children", pid, pid);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    if (fscanf(f, "%ld", &child) != 1)
        child = -1;
    fclose(f);
    return child;
}

/* A sandbox whose agent is gone, or hangs, reports "stopped" at once;
 * commands fail with a reason; destroy still works. */
static void test_stopped(const char *root)
{
    csdk_sandbox_t sb;
    csdk_result_t res;
    uint64_t t0;
    char *id = create(NULL, NULL);
    long monitor = bwrap_pid(root, id), agent = first_child(monitor);

    CHECK(monitor > 1 && agent > 1);
    if (monitor <= 1 || agent <= 1)
        return;
    /* A stopped (hung) agent: get gives up after its short timeout. */
    kill((pid_t)agent, SIGSTOP);
    t0 = now_ms();
    CHECK_OK(csdk_get(h, id, NULL, &sb, &err), err);
    CHECK(sb.status != NULL && strcmp(sb.status, "stopped") == 0);
    CHECK(now_ms() - t0 < 3000);
    csdk_sandbox_clear(&sb);
    kill((pid_t)agent, SIGCONT);
    CHECK_OK(csdk_get(h, id, NULL, &sb, &err), err);
    CHECK(sb.status != NULL && strcmp(sb.status, "running") == 0);
    csdk_sandbox_clear(&sb);

    /* A dead one. */
    kill((pid_t)monitor, SIGKILL);
    usleep(100000);
    t0 = now_ms();
    CHECK_OK(csdk_get(h, id, NULL, &sb, &err), err);
    CHECK(sb.status != NULL && strcmp(sb.status, "stopped") == 0);
    CHECK(now_ms() - t0 < 1000);
    csdk_sandbox_clear(&sb);
    CHECK(sh(id, "true", &res) == CSDK_E_CONFLICT);
    CHECK(strstr(err.message, "stopped") != NULL);
    csdk_result_clear(&res);
    destroy(id);

    /* destroy of a hung sandbox does not hang either. */
    id = create(NULL, NULL);
    monitor = bwrap_pid(root, id);
    agent = first_child(monitor);
    CHECK(agent > 1);
    if (agent > 1)
        kill((pid_t)agent, SIGSTOP);
    t0 = now_ms();
    destroy(id);
    CHECK(now_ms() - t0 < 5000);
    CHECK(kill((pid_t)monitor, 0) != 0 || first_child(monitor) < 0);
}

/* ------------------------------------------------------------------ */

int main(void)
{
    const char *top = getenv("top_builddir");
    char tmpl[] = "/tmp/csdk-local-api.XXXXXX", *dir, *cfg, *id;
    csdk_open_opts_t oo;
    int n;

    if (top == NULL) {
        fprintf(stderr, "run through make check (top_builddir unset)\n");
        return 1;
    }
    if (system("bwrap --unshare-user --unshare-pid --unshare-net --as-pid-1 "
               "--ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib "
               "/lib --symlink usr/lib64 /lib64 --proc /proc --dev /dev "
               "/usr/bin/true >/dev/null 2>&1") != 0) {
        fprintf(stderr, "SKIP: bwrap cannot create namespaces here\n");
        return 77;
    }
    dir = mkdtemp(tmpl);
    if (dir == NULL)
        return 1;
    n = asprintf(&cfg,
                 "[host]\nplugin_dir = %s/plugins/local/.libs\n"
                 "default_provider = local\n"
                 "[provider.local]\nplugin = local\nroot = %s/root\n"
                 "agent = %s/plugins/local/agent/csdk-local-agent\n",
                 top, dir, top);
    if (n < 0)
        return 1;
    memset(&oo, 0, sizeof oo);
    oo.struct_size = sizeof oo;
    oo.log_level = CSDK_LOG_WARN;
    if (csdk_open_string(cfg, "local_api", &oo, &h, &err) != CSDK_OK) {
        fprintf(stderr, "open: %s\n", err.message);
        return 1;
    }
    free(cfg);

    test_templates_and_snapshots();
    id = create(NULL, NULL);
    test_cancel_and_deadline(id);
    test_run_options(id);
    destroy(id);
    test_named_and_extend();
    {
        char *root;

        if (asprintf(&root, "%s/root", dir) >= 0) {
            test_stopped(root);
            free(root);
        }
    }

    csdk_close(h);
    {
        char *rm;

        if (asprintf(&rm, "rm -rf '%s'", dir) >= 0) {
            if (system(rm) != 0)
                fprintf(stderr, "could not remove %s\n", dir);
            free(rm);
        }
    }
    if (failures)
        fprintf(stderr, "%d check(s) failed\n", failures);
    return failures ? 1 : 0;
}
