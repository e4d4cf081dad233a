/* The communicator: every collective at 1, 2, 3 and 4 ranks as threads
 * (values, the fixed summation order, the same bits on every rank, byte
 * counts), the agreement step carrying one rank's error to all, bad
 * arguments. */
#include "testutil.h"
#include "core/comm-impl.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ck_assert aborts only the calling thread's view: ranks report through
 * their status, and the main thread asserts. */
#define RK_CHECK(cond)                                                                        \
    do {                                                                                      \
        if (!(cond))                                                                          \
            return rec_err(REC_E_STATE, "line %d: %s", __LINE__, #cond);                      \
    } while (0)

static rec_status allreduce_rank(rec_comm *c, int rank, void *arg)
{
    int p = rec_comm_size(c);
    RK_CHECK(rec_comm_rank(c) == rank);
    enum { N = 37 };
    float x[N];
    for (int j = 0; j < N; j++)
        x[j] = (float)(rank + 1) * (float)(j + 1);
    REC_TRY(rec_comm_allreduce_f32(c, x, N));
    for (int j = 0; j < N; j++)
        RK_CHECK(x[j] == (float)(p * (p + 1) / 2) * (float)(j + 1));
    /* The order is rank 0 + rank 1 + ...: with 1e8, 1, -1e8, 1 only that
     * order gives 1 in float (1e8 + 1 rounds to 1e8). */
    static const float v[4] = { 1e8f, 1.0f, -1e8f, 1.0f };
    float y[3] = { v[rank], v[rank], v[rank] };
    REC_TRY(rec_comm_allreduce_f32(c, y, 3));
    if (p == 4)
        for (int j = 0; j < 3; j++)
            RK_CHECK(y[j] == 1.0f);
    float empty = 5.0f;
    REC_TRY(rec_comm_allreduce_f32(c, &empty, 0));
    RK_CHECK(empty == 5.0f);
    return REC_OK;
}

START_TEST(allreduce_sums_in_rank_order)
{
    for (int p = 1; p <= 4; p++)
        tu_ranks(p, allreduce_rank, NULL, NULL);
}
END_TEST

static rec_status gather_rank(rec_comm *c, int rank, void *arg)
{
    int p = rec_comm_size(c);
    /* rank r sends r + 1 bytes of value r */
    size_t counts[4];
    for (int r = 0; r < p; r++)
        counts[r] = (size_t)r + 1;
    unsigned char send[4], recv[16];
    memset(send, rank, sizeof send);
    REC_TRY(rec_comm_allgatherv(c, send, (size_t)rank + 1, recv, counts));
    size_t off = 0;
    for (int r = 0; r < p; r++)
        for (int k = 0; k <= r; k++)
            RK_CHECK(recv[off++] == r);
    int32_t one = 100 + rank, all[4];
    REC_TRY(rec_comm_allgather(c, &one, sizeof one, all));
    for (int r = 0; r < p; r++)
        RK_CHECK(all[r] == 100 + r);
    /* alltoallv: rank s sends rank r (s + r) % 3 + 1 ints of value 10 s + r */
    int32_t sbuf[16], rbuf[16];
    size_t sb[4], rb[4];
    int n = 0;
    for (int r = 0; r < p; r++) {
        sb[r] = (size_t)((rank + r) % 3 + 1) * sizeof(int32_t);
        rb[r] = (size_t)((r + rank) % 3 + 1) * sizeof(int32_t);
        for (int k = 0; k < (rank + r) % 3 + 1; k++)
            sbuf[n++] = 10 * rank + r;
    }
    REC_TRY(rec_comm_alltoallv(c, sbuf, sb, rbuf, rb));
    n = 0;
    for (int s = 0; s < p; s++)
        for (int k = 0; k < (s + rank) % 3 + 1; k++)
            RK_CHECK(rbuf[n++] == 10 * s + rank);
    char b[16];
    snprintf(b, sizeof b, "r%d", rank);
    REC_TRY(rec_comm_bcast(c, b, sizeof b, p - 1));
    char want[16];
    snprintf(want, sizeof want, "r%d", p - 1);
    RK_CHECK(!strcmp(b, want));
    REC_TRY(rec_comm_barrier(c));
    uint64_t sent, got;
    REC_TRY(rec_comm_bytes(c, &sent, &got));
    if (p == 1)
        RK_CHECK(sent == 0 && got == 0);
    return REC_OK;
}

START_TEST(gather_scatter_bcast)
{
    for (int p = 1; p <= 4; p++)
        tu_ranks(p, gather_rank, NULL, NULL);
}
END_TEST

/* The bytes an allreduce of n floats moves: each rank sends the other
 * ranks' blocks, then its own block to every other rank. */
static rec_status bytes_rank(rec_comm *c, int rank, void *arg)
{
    int p = rec_comm_size(c);
    float x[1000] = { 0 };
    REC_TRY(rec_comm_allreduce_f32(c, x, 1000));
    uint64_t sent, got;
    REC_TRY(rec_comm_bytes(c, &sent, &got));
    size_t lo = 1000 * (size_t)rank / (size_t)p, hi = 1000 * (size_t)(rank + 1) / (size_t)p;
    uint64_t want = (uint64_t)(1000 - (hi - lo)) * 4 + (uint64_t)(hi - lo) * 4 * (uint64_t)(p - 1);
    RK_CHECK(sent == want && got == want);
    return REC_OK;
}

START_TEST(bytes_counted)
{
    tu_ranks(4, bytes_rank, NULL, NULL);
    tu_ranks(3, bytes_rank, NULL, NULL);
}
END_TEST

/* Rank 2 fails; every rank comes back with its status and message. */
static rec_status sync_rank(rec_comm *c, int rank, void *arg)
{
    double s = 0;
    REC_TRY(rec_comm_sync(c, REC_OK, rank + 1.0, &s));
    RK_CHECK(s == 10.0);
    rec_status mine = REC_OK;
    if (rank >= 2)
        mine = rec_err(REC_E_RANGE, "rank %d's step: the loss is nan", rank);
    rec_status st = rec_comm_sync(c, mine, 0, &s);
    RK_CHECK(st == REC_E_RANGE);
    RK_CHECK(!strcmp(rec_last_error(), "rank 2's step: the loss is nan (rank 2)"));
    return REC_OK;
}

START_TEST(sync_carries_one_error_to_all)
{
    tu_ranks(4, sync_rank, NULL, NULL);
}
END_TEST

START_TEST(single_and_bad_arguments)
{
    rec_comm *c;
    ck_assert_int_eq(rec_comm_create_single(&c), REC_OK);
    ck_assert_int_eq(rec_comm_size(c), 1);
    ck_assert_int_eq(rec_comm_rank(c), 0);
    float x[2] = { 1.5f, -2.0f };
    ck_assert_int_eq(rec_comm_allreduce_f32(c, x, 2), REC_OK);
    ck_assert(x[0] == 1.5f && x[1] == -2.0f);
    ck_assert_int_eq(rec_comm_bcast(c, x, sizeof x, 1), REC_E_RANGE);
    ck_assert_str_eq(rec_last_error(), "rec_comm_bcast: root 1 outside [0, 1)");
    size_t counts[1] = { 4 };
    ck_assert_int_eq(rec_comm_allgatherv(c, x, 8, x, counts), REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(),
                     "rec_comm_allgatherv: rank 0 sends 8 bytes but recv_bytes[0] = 4");
    ck_assert_int_eq(rec_comm_allreduce_f32(NULL, x, 2), REC_E_INVALID);
    ck_assert_str_eq(rec_last_error(), "rec_comm_allreduce_f32: communicator is NULL");
    rec_comm_destroy(c);
    rec_comm_destroy(NULL);
    ck_assert_int_eq(rec_comm_size(NULL), 0);
    ck_assert_int_eq(rec_comm_rank(NULL), -1);
    rec_comm *cs[2];
    ck_assert_int_eq(rec_comm_create_threads(cs, 0), REC_E_RANGE);
    ck_assert_str_eq(rec_last_error(), "rec_comm_create_threads: size 0 outside [1, 1024]");
    rec_comm_ops ops = { 0 };
    ck_assert_int_eq(rec_comm_create_ops(&c, &ops, NULL, 0, 1), REC_E_INVALID);
    ck_assert_ptr_null(c);
}
END_TEST

START_TEST(threads_without_leaks_under_failing_allocations)
{
    tu_alloc_install();
    rec_comm *cs[3];
    long n = 1;
    rec_status st;
    do {
        tu_alloc_fail_at(n++);
        st = rec_comm_create_threads(cs, 3);
        if (st) {
            ck_assert_int_eq(st, REC_E_NOMEM);
            for (int r = 0; r < 3; r++)
                ck_assert_ptr_null(cs[r]);
            ck_assert_int_eq(tu_alloc_live(), 0);
        }
    } while (st);
    tu_alloc_fail_at(0);
    for (int r = 0; r < 3; r++)
        rec_comm_destroy(cs[r]);
    ck_assert_int_eq(tu_alloc_live(), 0);
    tu_alloc_remove();
    ck_assert_int_gt(n, 5);
}
END_TEST

Suite *rec_comm_suite(void)
{
    Suite *s = suite_create("comm");
    TCase *tc = tcase_create("collectives");
    tcase_add_test(tc, allreduce_sums_in_rank_order);
    tcase_add_test(tc, gather_scatter_bcast);
    tcase_add_test(tc, bytes_counted);
    tcase_add_test(tc, sync_carries_one_error_to_all);
    tcase_add_test(tc, single_and_bad_arguments);
    tcase_add_test(tc, threads_without_leaks_under_failing_allocations);
    suite_add_tcase(s, tc);
    return s;
}
