/* bench-common.h: what payment-bench and ceiling-mysql share: a monotonic clock in
 * nanoseconds, a log-linear latency histogram (HdrHistogram-like: 32 sub-buckets per
 * power of two, so any recorded value is reported within ~3 %), error-kind counters, and
 * the one JSON line both programs print. Header-only on purpose: plain C11 + POSIX, no
 * library of the service is linked. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static inline uint64_t
bench_now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

/* ---- histogram ---------------------------------------------------------------------- */

#define HIST_SUB_BITS 5
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_BUCKETS (64 * HIST_SUB)

typedef struct {
  uint64_t counts[HIST_BUCKETS];
  uint64_t n;
  uint64_t min, max;
  double   sum;
} Hist;

static inline unsigned
hist_index (uint64_t v)
{
  if (v < HIST_SUB)
    return (unsigned) v;
  unsigned e = 63u - (unsigned) __builtin_clzll (v);       /* e >= HIST_SUB_BITS */
  return (e - HIST_SUB_BITS + 1) * HIST_SUB + (unsigned) ((v >> (e - HIST_SUB_BITS)) & (HIST_SUB - 1));
}

/* The middle of bucket @i's value range. */
static inline double
hist_value (unsigned i)
{
  if (i < HIST_SUB)
    return i;
  unsigned e = i / HIST_SUB + HIST_SUB_BITS - 1;
  uint64_t m = i % HIST_SUB;
  uint64_t width = 1ull << (e - HIST_SUB_BITS);
  uint64_t low = (HIST_SUB + m) << (e - HIST_SUB_BITS);
  return (double) low + (double) (width - 1) / 2.0;
}

static inline void
hist_record (Hist *h, uint64_t v)
{
  h->counts[hist_index (v)]++;
  if (h->n == 0 || v < h->min)
    h->min = v;
  if (v > h->max)
    h->max = v;
  h->n++;
  h->sum += (double) v;
}

static inline void
hist_merge (Hist *into, const Hist *from)
{
  if (from->n == 0)
    return;
  for (unsigned i = 0; i < HIST_BUCKETS; i++)
    into->counts[i] += from->counts[i];
  if (into->n == 0 || from->min < into->min)
    into->min = from->min;
  if (from->max > into->max)
    into->max = from->max;
  into->n += from->n;
  into->sum += from->sum;
}

/* The value at quantile @q (0..1): the bucket holding the ceil(q*n)-th smallest value. */
static inline double
hist_quantile (const Hist *h, double q)
{
  if (h->n == 0)
    return 0;
  uint64_t rank = (uint64_t) (q * (double) h->n + 0.999999);
  if (rank < 1)
    rank = 1;
  uint64_t seen = 0;
  for (unsigned i = 0; i < HIST_BUCKETS; i++)
    {
      seen += h->counts[i];
      if (seen >= rank)
        {
          double v = hist_value (i);
          if (v > (double) h->max) v = (double) h->max;
          if (v < (double) h->min) v = (double) h->min;
          return v;
        }
    }
  return (double) h->max;
}

/* ---- error kinds ---------------------------------------------------------------------- */

#define MAX_KINDS 32

typedef struct {
  char     name[MAX_KINDS][48];
  uint64_t count[MAX_KINDS];
  int      n;
} Kinds;

static inline void
kinds_add (Kinds *k, const char *name, uint64_t count)
{
  for (int i = 0; i < k->n; i++)
    if (strcmp (k->name[i], name) == 0)
      {
        k->count[i] += count;
        return;
      }
  if (k->n < MAX_KINDS)
    {
      snprintf (k->name[k->n], sizeof k->name[0], "%s", name);
      k->count[k->n++] = count;
    }
  else
    k->count[MAX_KINDS - 1] += count;
}

static inline void
kinds_merge (Kinds *into, const Kinds *from)
{
  for (int i = 0; i < from->n; i++)
    kinds_add (into, from->name[i], from->count[i]);
}

static inline uint64_t
kinds_total (const Kinds *k)
{
  uint64_t t = 0;
  for (int i = 0; i < k->n; i++)
    t += k->count[i];
  return t;
}

/* ---- CPU used per request, by process ---------------------------------------------------- */

/* Where the CPU of a run goes: this process ("client") and the processes named with
 * --cpu name:pid,..., sampled from /proc at the start and the end of the measured window. */
#define CPU_MAX_PROBES 6

typedef struct {
  int    n;
  char   name[CPU_MAX_PROBES][16];
  int    pid[CPU_MAX_PROBES];        /* 0: this process */
  double start[CPU_MAX_PROBES];
  double end[CPU_MAX_PROBES];
  bool   sampled;
} CpuProbes;

/* User + system CPU seconds of @pid (0: this process), all threads; -1 when unreadable. */
static inline double
cpu_seconds (int pid)
{
  char path[64], buf[1024];
  FILE *f;
  size_t len;
  const char *p;
  unsigned long long utime = 0, stime = 0;

  if (pid == 0)
    snprintf (path, sizeof path, "/proc/self/stat");
  else
    snprintf (path, sizeof path, "/proc/%d/stat", pid);
  if ((f = fopen (path, "r")) == NULL)
    return -1;
  len = fread (buf, 1, sizeof buf - 1, f);
  fclose (f);
  buf[len] = '\0';
  /* Fields after the command name (which may hold spaces): state is field 3, utime 14,
   * stime 15. */
  if ((p = strrchr (buf, ')')) == NULL ||
      sscanf (p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
    return -1;
  return (double) (utime + stime) / (double) sysconf (_SC_CLK_TCK);
}

/* Parses "name:pid,name:pid" after the implicit "client" (this process). */
static inline bool
cpu_probes_parse (CpuProbes *probes, const char *spec)
{
  probes->n = 1;
  snprintf (probes->name[0], sizeof probes->name[0], "client");
  probes->pid[0] = 0;
  while (spec != NULL && *spec != '\0')
    {
      const char *colon = strchr (spec, ':');
      int pid;

      if (colon == NULL || probes->n == CPU_MAX_PROBES || colon - spec >= 16 ||
          sscanf (colon + 1, "%d", &pid) != 1 || pid <= 0)
        return false;
      snprintf (probes->name[probes->n], sizeof probes->name[0], "%.*s", (int) (colon - spec), spec);
      probes->pid[probes->n++] = pid;
      spec = strchr (colon, ',');
      if (spec != NULL)
        spec++;
    }
  return true;
}

static inline void
cpu_probes_sample (CpuProbes *probes, bool end)
{
  for (int i = 0; i < probes->n; i++)
    (end ? probes->end : probes->start)[i] = cpu_seconds (probes->pid[i]);
  probes->sampled = end;
}

static inline void
sleep_until_ns (uint64_t t)
{
  uint64_t now;

  while ((now = bench_now_ns ()) < t)
    {
      uint64_t left = t - now;
      struct timespec ts = { (time_t) (left / 1000000000u), (long) (left % 1000000000u) };

      nanosleep (&ts, NULL);
    }
}

/* ---- report ----------------------------------------------------------------------------- */

typedef struct {
  const char *scenario;
  const char *transport;
  const char *status;        /* "ok", "errors", "not-implemented" */
  int         connections;
  int         depth;
  double      rate;          /* requests/s asked for; 0 = as fast as possible */
  double      seconds;       /* measured window */
  uint64_t    ok;
  const CpuProbes *cpu;      /* NULL: not measured */
} Report;

static inline void
report_print (FILE *out, const Report *r, const Hist *lat, const Kinds *errors, int json)
{
  uint64_t nerr = kinds_total (errors);
  double rps = r->seconds > 0 ? (double) (r->ok + nerr) / r->seconds : 0;
  double ok_rps = r->seconds > 0 ? (double) r->ok / r->seconds : 0;
  double us = 1000.0;

  if (json)
    {
      fprintf (out, "{\"scenario\":\"%s\",\"transport\":\"%s\",\"status\":\"%s\","
               "\"connections\":%d,\"depth\":%d,\"rate\":%.1f,\"seconds\":%.3f,"
               "\"requests\":%" PRIu64 ",\"ok\":%" PRIu64 ",\"rps\":%.1f,\"ok_rps\":%.1f,"
               "\"latency_us\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p999\":%.1f,"
               "\"max\":%.1f,\"mean\":%.1f},\"errors\":{",
               r->scenario, r->transport, r->status, r->connections, r->depth, r->rate,
               r->seconds, r->ok + nerr, r->ok, rps, ok_rps,
               hist_quantile (lat, 0.50) / us, hist_quantile (lat, 0.90) / us,
               hist_quantile (lat, 0.99) / us, hist_quantile (lat, 0.999) / us,
               (double) lat->max / us, lat->n ? lat->sum / (double) lat->n / us : 0.0);
      for (int i = 0; i < errors->n; i++)
        fprintf (out, "%s\"%s\":%" PRIu64, i ? "," : "", errors->name[i], errors->count[i]);
      fprintf (out, "}");
      if (r->cpu != NULL && r->cpu->sampled && r->ok > 0)
        {
          fprintf (out, ",\"cpu_us_per_ok\":{");
          for (int i = 0; i < r->cpu->n; i++)
            fprintf (out, "%s\"%s\":%.1f", i ? "," : "", r->cpu->name[i],
                     r->cpu->start[i] < 0 || r->cpu->end[i] < 0 ? -1.0
                     : (r->cpu->end[i] - r->cpu->start[i]) * 1e6 / (double) r->ok);
          fprintf (out, "}");
        }
      fprintf (out, "}\n");
    }
  else
    {
      fprintf (out, "%-16s %-5s conns=%-3d depth=%-2d %s\n", r->scenario, r->transport,
               r->connections, r->depth, r->status);
      fprintf (out, "  %10s %10s %10s %10s %10s %10s %10s\n", "req/s", "ok", "p50 us", "p90 us",
               "p99 us", "p99.9 us", "max us");
      fprintf (out, "  %10.0f %10" PRIu64 " %10.1f %10.1f %10.1f %10.1f %10.1f\n", rps, r->ok,
               hist_quantile (lat, 0.50) / us, hist_quantile (lat, 0.90) / us,
               hist_quantile (lat, 0.99) / us, hist_quantile (lat, 0.999) / us,
               (double) lat->max / us);
      if (errors->n == 0)
        fprintf (out, "  errors: none\n");
      for (int i = 0; i < errors->n; i++)
        fprintf (out, "  error %-32s %" PRIu64 "\n", errors->name[i], errors->count[i]);
    }
}

#endif /* BENCH_COMMON_H */
