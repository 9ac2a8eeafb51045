/*
 * RTP load generator and receiver for tests/bench/relay_density.ts.
 *
 * Two UDP sockets on 127.0.0.1: "A" (all callers) and "B" (all callees). For each call i the relay
 * gave two ports: A sends G.711 packets (172 bytes, 20 ms) to portA[i] and expects them on B; B
 * sends to portB[i] and expects them on A. Every payload carries the stream id, a sequence number
 * and the CLOCK_REALTIME send time; arrival times are kernel timestamps (SO_TIMESTAMPNS), so the
 * generator's own scheduling does not show up as relay jitter. Sending uses sendmmsg, receiving
 * recvmmsg, so one generator thread handles far more than the relay under test.
 *
 * Protocol: prints "PORTS <a> <b>\n"; reads "<calls> <seconds>\n" then one "<portA> <portB>\n" per
 * call; runs; prints one JSON line with the results. The first second of every stream is warm-up
 * (latching) and not counted.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PKT 172
#define PERIOD_NS 20000000LL
#define WARMUP_SEQ 50
#define BATCH 256

static int64_t now_rt(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int mksock(void) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  int sz = 8 << 20, on = 1;
  setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz);
  setsockopt(s, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz);
  setsockopt(s, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
  setsockopt(s, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
  setsockopt(s, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(s, (struct sockaddr *)&a, sizeof a) != 0) { perror("bind"); exit(2); }
  return s;
}

static int portof(int s) {
  struct sockaddr_in a; socklen_t l = sizeof a;
  getsockname(s, (struct sockaddr *)&a, &l);
  return ntohs(a.sin_port);
}

static int cmp_i32(const void *a, const void *b) {
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

typedef struct {
  int64_t next_ns;
  uint32_t seq;
  uint32_t received;     /* counted packets (seq >= WARMUP_SEQ) */
  uint32_t sent_counted;
  int32_t min_transit;   /* ns */
  uint32_t max_seq_seen;
} stream_t;

static int nstreams;
static stream_t *st;
static int32_t *transit; /* per counted packet: transit ns, then rewritten to added jitter */
static int32_t *transit_stream;
static size_t ntransit, cap_transit;
static uint64_t dup_or_late;

static void drain(int s) {
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  static uint8_t bufs[BATCH][256];
  static char ctl[BATCH][64];
  for (;;) {
    for (int i = 0; i < BATCH; i++) {
      iov[i].iov_base = bufs[i]; iov[i].iov_len = sizeof bufs[i];
      memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
      msgs[i].msg_hdr.msg_iov = &iov[i]; msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_control = ctl[i]; msgs[i].msg_hdr.msg_controllen = sizeof ctl[i];
    }
    int n = recvmmsg(s, msgs, BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0) return;
    for (int i = 0; i < n; i++) {
      if (msgs[i].msg_len < 12 + 16) continue;
      int64_t rx = 0;
      for (struct cmsghdr *c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
          struct timespec ts; memcpy(&ts, CMSG_DATA(c), sizeof ts);
          rx = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
        }
      }
      if (rx == 0) rx = now_rt();
      uint32_t sid, seq; int64_t tx;
      memcpy(&sid, bufs[i] + 12, 4); memcpy(&seq, bufs[i] + 16, 4); memcpy(&tx, bufs[i] + 20, 8);
      if ((int)sid >= nstreams) continue;
      stream_t *x = &st[sid];
      if (seq < WARMUP_SEQ) continue;
      if (seq <= x->max_seq_seen && x->max_seq_seen != 0) { dup_or_late++; }
      if (seq > x->max_seq_seen) x->max_seq_seen = seq;
      x->received++;
      int64_t t = rx - tx;
      if (t > 2000000000LL) t = 2000000000LL;
      if (t < x->min_transit) x->min_transit = (int32_t)t;
      if (ntransit < cap_transit) { transit[ntransit] = (int32_t)t; transit_stream[ntransit] = (int32_t)sid; ntransit++; }
    }
  }
}

int main(void) {
  int sa = mksock(), sb = mksock();
  printf("PORTS %d %d\n", portof(sa), portof(sb));
  fflush(stdout);
  int calls; double seconds;
  if (scanf("%d %lf", &calls, &seconds) != 2 || calls < 1) { fprintf(stderr, "bad header\n"); return 2; }
  nstreams = 2 * calls;
  struct sockaddr_in *dst = calloc(nstreams, sizeof *dst);
  for (int i = 0; i < calls; i++) {
    int pa, pb;
    if (scanf("%d %d", &pa, &pb) != 2) { fprintf(stderr, "bad call line %d\n", i); return 2; }
    for (int d = 0; d < 2; d++) {
      struct sockaddr_in *a = &dst[2 * i + d];
      a->sin_family = AF_INET; a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a->sin_port = htons(d == 0 ? pa : pb);
    }
  }
  st = calloc(nstreams, sizeof *st);
  long per_stream = (long)(seconds * 50) + 2;
  cap_transit = (size_t)nstreams * per_stream;
  transit = malloc(cap_transit * sizeof *transit);
  transit_stream = malloc(cap_transit * sizeof *transit_stream);
  int64_t t0 = now_rt() + 50000000LL;
  for (int s = 0; s < nstreams; s++) {
    st[s].next_ns = t0 + (PERIOD_NS * s) / nstreams; /* spread evenly over the 20 ms */
    st[s].min_transit = INT32_MAX;
  }
  int64_t end = t0 + (int64_t)(seconds * 1e9);
  uint8_t pkts[2][BATCH][PKT];
  struct mmsghdr msgs[2][BATCH];
  struct iovec iov[2][BATCH];
  int64_t max_late = 0; uint64_t sent = 0, send_err = 0;
  int cursor = 0; /* streams are due in index order (phases ascend) */
  struct rusage ru0; getrusage(RUSAGE_SELF, &ru0);
  while (1) {
    int64_t now = now_rt();
    if (now >= end) break;
    int nb[2] = {0, 0};
    /* Send everything due, in batches per socket. */
    for (int guard = 0; guard < nstreams; guard++) {
      stream_t *x = &st[cursor];
      if (x->next_ns > now) break;
      if (now - x->next_ns > max_late) max_late = now - x->next_ns;
      int d = cursor & 1;
      uint8_t *p = pkts[d][nb[d]];
      memset(p, 0xff, PKT);
      p[0] = 0x80; p[1] = 0;
      p[2] = (uint8_t)(x->seq >> 8); p[3] = (uint8_t)x->seq;
      uint32_t ts = htonl(x->seq * 160), ssrc = htonl(cursor + 1);
      memcpy(p + 4, &ts, 4); memcpy(p + 8, &ssrc, 4);
      uint32_t sid = cursor; int64_t tx = now_rt();
      memcpy(p + 12, &sid, 4); memcpy(p + 16, &x->seq, 4); memcpy(p + 20, &tx, 8);
      if (x->seq >= WARMUP_SEQ) x->sent_counted++;
      iov[d][nb[d]].iov_base = p; iov[d][nb[d]].iov_len = PKT;
      memset(&msgs[d][nb[d]].msg_hdr, 0, sizeof msgs[d][nb[d]].msg_hdr);
      msgs[d][nb[d]].msg_hdr.msg_iov = &iov[d][nb[d]]; msgs[d][nb[d]].msg_hdr.msg_iovlen = 1;
      msgs[d][nb[d]].msg_hdr.msg_name = &dst[cursor]; msgs[d][nb[d]].msg_hdr.msg_namelen = sizeof dst[cursor];
      nb[d]++;
      x->seq++; x->next_ns += PERIOD_NS;
      cursor = (cursor + 1) % nstreams;
      for (int k = 0; k < 2; k++) {
        if (nb[k] == BATCH) {
          int r = sendmmsg(k == 0 ? sa : sb, msgs[k], nb[k], 0);
          if (r < nb[k]) send_err += nb[k] - (r < 0 ? 0 : r);
          sent += nb[k]; nb[k] = 0;
        }
      }
    }
    for (int k = 0; k < 2; k++) {
      if (nb[k] > 0) {
        int r = sendmmsg(k == 0 ? sa : sb, msgs[k], nb[k], 0);
        if (r < nb[k]) send_err += nb[k] - (r < 0 ? 0 : r);
        sent += nb[k];
      }
    }
    drain(sa); drain(sb);
    int64_t wait = st[cursor].next_ns - now_rt();
    if (wait > 0) {
      struct pollfd pf[2] = {{sa, POLLIN, 0}, {sb, POLLIN, 0}};
      struct timespec to = {0, wait > 1000000 ? 1000000 : wait};
      ppoll(pf, 2, &to, NULL);
    }
  }
  /* Collect stragglers. */
  int64_t stop = now_rt() + 300000000LL;
  while (now_rt() < stop) {
    drain(sa); drain(sb);
    struct pollfd pf[2] = {{sa, POLLIN, 0}, {sb, POLLIN, 0}};
    poll(pf, 2, 10);
  }
  struct rusage ru1; getrusage(RUSAGE_SELF, &ru1);
  double cpu = (ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) + (ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
               ((ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) + (ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec)) / 1e6;
  uint64_t expected = 0, received = 0; int dead = 0;
  for (int s = 0; s < nstreams; s++) {
    expected += st[s].sent_counted; received += st[s].received;
    if (st[s].received == 0) dead++;
  }
  /* Added jitter = transit minus the stream's fastest transit. */
  int32_t *tr = malloc((ntransit + 1) * sizeof *tr);
  for (size_t i = 0; i < ntransit; i++) {
    tr[i] = transit[i];
    transit[i] -= st[transit_stream[i]].min_transit;
  }
  qsort(transit, ntransit, sizeof *transit, cmp_i32);
  qsort(tr, ntransit, sizeof *tr, cmp_i32);
#define Q(a, q) (ntransit ? (a)[(size_t)((q) * (ntransit - 1))] / 1000.0 : -1.0)
  printf("{\"calls\":%d,\"seconds\":%.2f,\"sent\":%llu,\"sendErrors\":%llu,\"expected\":%llu,\"received\":%llu,"
         "\"lost\":%lld,\"lossPct\":%.5f,\"deadStreams\":%d,\"reordered\":%llu,"
         "\"jitterUs\":{\"p50\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f},"
         "\"transitUs\":{\"p50\":%.1f,\"p99\":%.1f,\"max\":%.1f},"
         "\"genCpuSeconds\":%.3f,\"genMaxLateUs\":%.1f}\n",
         calls, seconds, (unsigned long long)sent, (unsigned long long)send_err, (unsigned long long)expected,
         (unsigned long long)received, (long long)expected - (long long)received,
         expected ? 100.0 * ((double)expected - (double)received) / expected : 0.0, dead,
         (unsigned long long)dup_or_late, Q(transit, 0.5), Q(transit, 0.99), Q(transit, 0.999),
         Q(transit, 1.0), Q(tr, 0.5), Q(tr, 0.99), Q(tr, 1.0), cpu, max_late / 1000.0);
  return 0;
}
