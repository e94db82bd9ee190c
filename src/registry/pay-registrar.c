/* pay-registrar.c: keeps this instance registered with the local Consul agent.
 *
 * Everything runs on the main loop with libsoup's async client: one request to the agent
 * at a time, and a timer between them. Unregistered, the timer sends
 * PUT /v1/agent/service/register (retrying with doubling waits up to the sync interval);
 * registered, it sends GET /v1/agent/service/<id> every sync interval, and a 404 (an
 * agent restarted without its state forgets local services) registers again. */
#define G_LOG_DOMAIN "payment-consul"

#include "registry/pay-registrar.h"

#include <ifaddrs.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>

G_DEFINE_QUARK (pay-registrar-error-quark, pay_registrar_error)

#define REGISTER_PATH   "/v1/agent/service/register"
#define SERVICE_PATH    "/v1/agent/service/"
#define DEREGISTER_PATH "/v1/agent/service/deregister/"

struct _PayRegistrar
{
  GObject parent_instance;

  SoupSession  *session;
  GUri         *agent;            /* scheme://host:port of the agent */
  gchar        *token;            /* NULL: no X-Consul-Token */
  gchar        *service_id;
  gchar        *service_name;
  gchar        *address;          /* advertised */
  guint16       rpc_port;
  guint16       http_port;
  gboolean      http_tls;         /* the HTTP port speaks HTTPS only */
  guint         check_interval_seconds;
  guint         deregister_after_seconds;
  guint         sync_interval_seconds;

  GCancellable *cancellable;      /* background work; cancelled by deregister/dispose */
  guint         timer_id;
  guint         backoff_ms;
  gint          registered;       /* atomic: read by /metrics and /health */
  gboolean      failing;          /* a failure was logged and no success since */
  gboolean      stopped;
};

G_DEFINE_FINAL_TYPE (PayRegistrar, pay_registrar, G_TYPE_OBJECT)

static void send_register (PayRegistrar *self);
static void send_poll (PayRegistrar *self);

/* ---------------------------------------------------------------------------------- */
/* Addresses                                                                          */
/* ---------------------------------------------------------------------------------- */

static gboolean
is_wildcard (const gchar *host)
{
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string (host);

  return address != NULL && g_inet_address_get_is_any (address);
}

gchar *
pay_registrar_pick_address (const gchar *host, const gchar *advertise)
{
  struct ifaddrs *list = NULL;
  gchar *found = NULL;

  if (advertise != NULL && *advertise != '\0')
    return g_strdup (advertise);
  if (host != NULL && !is_wildcard (host))
    return g_strdup (host);

  /* getifaddrs() reads the kernel's table: no DNS, no blocking. */
  if (getifaddrs (&list) == 0)
    {
      for (struct ifaddrs *it = list; it != NULL && found == NULL; it = it->ifa_next)
        {
          g_autoptr(GSocketAddress) address = NULL;

          if (it->ifa_addr == NULL || it->ifa_addr->sa_family != AF_INET ||
              !(it->ifa_flags & IFF_UP) || (it->ifa_flags & IFF_LOOPBACK))
            continue;
          address = g_socket_address_new_from_native (it->ifa_addr, sizeof (struct sockaddr_in));
          if (G_IS_INET_SOCKET_ADDRESS (address))
            found = g_inet_address_to_string (
                      g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address)));
        }
      freeifaddrs (list);
    }
  return found != NULL ? found : g_strdup ("127.0.0.1");
}

/* "host:port" with IPv6 literals in brackets, as URLs and Consul's TCP checks want. */
static gchar *
host_port (const gchar *host, guint16 port)
{
  if (strchr (host, ':') != NULL)
    return g_strdup_printf ("[%s]:%u", host, port);
  return g_strdup_printf ("%s:%u", host, port);
}

/* consul.address as a base URI: "host:port" means http://host:port. */
static GUri *
parse_agent (const gchar *text, GError **error)
{
  g_autofree gchar *with_scheme = strstr (text, "://") != NULL ? g_strdup (text)
                                  : g_strconcat ("http://", text, NULL);
  g_autoptr(GUri) uri = g_uri_parse (with_scheme, G_URI_FLAGS_NONE, NULL);
  const gchar *scheme = uri != NULL ? g_uri_get_scheme (uri) : NULL;

  if (uri == NULL || g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0' ||
      (g_strcmp0 (scheme, "http") != 0 && g_strcmp0 (scheme, "https") != 0))
    {
      g_set_error (error, PAY_REGISTRAR_ERROR, PAY_REGISTRAR_ERROR_ADDRESS,
                   "consul.address \"%s\" is not host:port or an http(s) URL", text);
      return NULL;
    }
  return g_steal_pointer (&uri);
}

/* ---------------------------------------------------------------------------------- */
/* Requests                                                                           */
/* ---------------------------------------------------------------------------------- */

/* A request to the agent at @path (escaped by the caller), with the token if any. */
static SoupMessage *
new_message (PayRegistrar *self, const gchar *method, const gchar *path)
{
  g_autoptr(GUri) uri = g_uri_build (G_URI_FLAGS_ENCODED_PATH, g_uri_get_scheme (self->agent),
                                     NULL, g_uri_get_host (self->agent),
                                     g_uri_get_port (self->agent), path, NULL, NULL);
  SoupMessage *msg = soup_message_new_from_uri (method, uri);

  if (self->token != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (msg),
                                  "X-Consul-Token", self->token);
  return msg;
}

static void
add_string_member (JsonBuilder *builder, const gchar *name, const gchar *value)
{
  json_builder_set_member_name (builder, name);
  json_builder_add_string_value (builder, value);
}

static gchar *
duration (guint seconds)
{
  return g_strdup_printf ("%us", seconds);
}

static void
add_check_timing (PayRegistrar *self, JsonBuilder *builder)
{
  g_autofree gchar *interval = duration (self->check_interval_seconds);
  g_autofree gchar *timeout = duration (MAX (self->check_interval_seconds / 2, 1));
  g_autofree gchar *deregister = duration (self->deregister_after_seconds);

  add_string_member (builder, "Interval", interval);
  add_string_member (builder, "Timeout", timeout);
  add_string_member (builder, "DeregisterCriticalServiceAfter", deregister);
}

/* The body of PUT /v1/agent/service/register (Consul's agent service definition). */
static GBytes *
registration_body (PayRegistrar *self)
{
  static const gchar *const tags[] = { PAY_REGISTRAR_TAGS };
  g_autoptr(JsonBuilder) builder = json_builder_new_immutable ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree gchar *http_port = g_strdup_printf ("%u", self->http_port);
  g_autofree gchar *http_host = host_port (self->address, self->http_port);
  g_autofree gchar *health_url = g_strdup_printf ("%s://%s/health",
                                                  self->http_tls ? "https" : "http", http_host);
  g_autofree gchar *rpc_host = host_port (self->address, self->rpc_port);
  g_autofree gchar *http_check = g_strdup_printf ("%s HTTP /health", self->service_name);
  g_autofree gchar *tcp_check = g_strdup_printf ("%s RPC TCP", self->service_name);
  gchar *data;
  gsize length;

  json_builder_begin_object (builder);
  add_string_member (builder, "ID", self->service_id);
  add_string_member (builder, "Name", self->service_name);
  json_builder_set_member_name (builder, "Tags");
  json_builder_begin_array (builder);
  for (gsize i = 0; i < G_N_ELEMENTS (tags); i++)
    json_builder_add_string_value (builder, tags[i]);
  json_builder_end_array (builder);
  add_string_member (builder, "Address", self->address);
  json_builder_set_member_name (builder, "Port");
  json_builder_add_int_value (builder, self->rpc_port);
  json_builder_set_member_name (builder, "Meta");
  json_builder_begin_object (builder);
  add_string_member (builder, "http_port", http_port);
  add_string_member (builder, "version", PAYMENT_VERSION);
  json_builder_end_object (builder);

  json_builder_set_member_name (builder, "Checks");
  json_builder_begin_array (builder);
  json_builder_begin_object (builder);
  add_string_member (builder, "Name", http_check);
  add_string_member (builder, "HTTP", health_url);
  add_string_member (builder, "Method", "GET");
  /* The check asks whether the service answers over TLS, not who it is: the agent is
   * not given our CA, and the certificate may not name the advertised address. */
  if (self->http_tls)
    {
      json_builder_set_member_name (builder, "TLSSkipVerify");
      json_builder_add_boolean_value (builder, TRUE);
    }
  add_check_timing (self, builder);
  json_builder_end_object (builder);
  json_builder_begin_object (builder);
  add_string_member (builder, "Name", tcp_check);
  add_string_member (builder, "TCP", rpc_host);
  add_check_timing (self, builder);
  json_builder_end_object (builder);
  json_builder_end_array (builder);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  data = json_generator_to_data (generator, &length);
  return g_bytes_new_take (data, length);
}

/* ---------------------------------------------------------------------------------- */
/* The background loop                                                                */
/* ---------------------------------------------------------------------------------- */

static gboolean
on_timer (gpointer user_data)
{
  PayRegistrar *self = user_data;

  self->timer_id = 0;
  if (g_atomic_int_get (&self->registered))
    send_poll (self);
  else
    send_register (self);
  return G_SOURCE_REMOVE;
}

static void
schedule (PayRegistrar *self, guint delay_ms)
{
  if (self->stopped)
    return;
  g_clear_handle_id (&self->timer_id, g_source_remove);
  self->timer_id = g_timeout_add (delay_ms, on_timer, self);
}

static void
set_registered (PayRegistrar *self, gboolean registered)
{
  g_atomic_int_set (&self->registered, registered);
}

/* A registration or check failed: unregistered until a registration succeeds; logged
 * once per failing spell, retried with doubling waits. */
static void
failed (PayRegistrar *self, const gchar *what, const gchar *reason)
{
  guint cap_ms = self->sync_interval_seconds * 1000;

  set_registered (self, FALSE);
  if (!self->failing)
    g_warning ("Consul agent %s: %s failed: %s; retrying in the background",
               g_uri_get_host (self->agent), what, reason);
  else
    g_debug ("Consul %s failed again: %s", what, reason);
  self->failing = TRUE;
  schedule (self, self->backoff_ms);
  self->backoff_ms = MIN (self->backoff_ms * 2, cap_ms);
}

/* Reads the outcome of @msg: HTTP status, or 0 with *@reason set on a transport error
 * (connection refused, timeout). *@aborted is TRUE when the request was cancelled: the
 * registrar is stopping or gone, and must not be touched. */
static guint
outcome (SoupSession  *session,
         GAsyncResult *result,
         SoupMessage  *msg,
         gchar       **reason,
         gboolean     *aborted)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (session, result, &error);
  guint status;

  *aborted = g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  if (body == NULL)
    {
      *reason = g_strdup (error->message);
      return 0;
    }
  status = soup_message_get_status (msg);
  *reason = g_strdup_printf ("HTTP %u %s", status,
                             soup_message_get_reason_phrase (msg) != NULL
                             ? soup_message_get_reason_phrase (msg) : "");
  return status;
}

/* The registrar a background reply is for, with the reply's status and *@reason; NULL
 * when the request was cancelled or the registrar stopped (nothing may be touched). */
static PayRegistrar *
background_reply (GObject      *source,
                  GAsyncResult *result,
                  SoupMessage  *msg,
                  guint        *status,
                  gchar       **reason)
{
  PayRegistrar *self = g_object_get_data (G_OBJECT (msg), "pay-registrar");
  gboolean aborted;

  *status = outcome (SOUP_SESSION (source), result, msg, reason, &aborted);
  return aborted || self->stopped ? NULL : self;
}

/* A registration was acknowledged (@status 2xx) or failed. */
static void
registered (PayRegistrar *self, guint status, const gchar *reason)
{
  if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      failed (self, "registration", reason);
      return;
    }
  set_registered (self, TRUE);
  self->failing = FALSE;
  self->backoff_ms = PAY_REGISTRAR_FIRST_RETRY_MS;
  g_message ("registered with Consul as %s (%s:%u)", self->service_id, self->address,
             self->rpc_port);
  schedule (self, self->sync_interval_seconds * 1000);
}

/* The agent answered a registration check with @status. */
static void
polled (PayRegistrar *self, guint status, const gchar *reason)
{
  if (status == SOUP_STATUS_NOT_FOUND)
    {
      /* An agent restarted without its data forgets its local services. */
      set_registered (self, FALSE);
      g_message ("Consul agent no longer knows %s; registering again", self->service_id);
      send_register (self);
      return;
    }
  if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      failed (self, "registration check", reason);
      return;
    }
  schedule (self, self->sync_interval_seconds * 1000);
}

/* Every background reply: PUT is a registration, GET a registration check. */
static void
on_agent_reply (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(SoupMessage) msg = user_data;
  g_autofree gchar *reason = NULL;
  guint status;
  PayRegistrar *self = background_reply (source, result, msg, &status, &reason);

  if (self == NULL)
    return;
  if (g_str_equal (soup_message_get_method (msg), SOUP_METHOD_PUT))
    registered (self, status, reason);
  else
    polled (self, status, reason);
}

/* Sends @msg (taken); on_agent_reply() gets the reply. The message carries a plain pointer back to @self:
 * the request is cancelled before @self goes (stop_background), and a cancelled reply
 * never reads it. */
static void
send_to_agent (PayRegistrar *self, SoupMessage *msg)
{
  g_object_set_data (G_OBJECT (msg), "pay-registrar", self);
  soup_session_send_and_read_async (self->session, msg, G_PRIORITY_DEFAULT, self->cancellable,
                                    on_agent_reply, msg);
}

static void
send_register (PayRegistrar *self)
{
  SoupMessage *msg = new_message (self, SOUP_METHOD_PUT, REGISTER_PATH);
  g_autoptr(GBytes) body = registration_body (self);

  soup_message_set_request_body_from_bytes (msg, "application/json", body);
  send_to_agent (self, msg);
}

static void
send_poll (PayRegistrar *self)
{
  g_autofree gchar *id = g_uri_escape_string (self->service_id, NULL, FALSE);
  g_autofree gchar *path = g_strconcat (SERVICE_PATH, id, NULL);

  send_to_agent (self, new_message (self, SOUP_METHOD_GET, path));
}

/* ---------------------------------------------------------------------------------- */
/* GObject                                                                            */
/* ---------------------------------------------------------------------------------- */

static void
pay_registrar_init (PayRegistrar *self)
{
  self->cancellable = g_cancellable_new ();
  self->backoff_ms = PAY_REGISTRAR_FIRST_RETRY_MS;
}

/* Stops the timer and the request in flight; replies still queued find no registrar. */
static void
stop_background (PayRegistrar *self)
{
  self->stopped = TRUE;
  g_clear_handle_id (&self->timer_id, g_source_remove);
  g_cancellable_cancel (self->cancellable);
}

static void
pay_registrar_dispose (GObject *object)
{
  PayRegistrar *self = PAY_REGISTRAR (object);

  stop_background (self);
  if (self->session != NULL)
    soup_session_abort (self->session);
  g_clear_object (&self->session);
  G_OBJECT_CLASS (pay_registrar_parent_class)->dispose (object);
}

static void
pay_registrar_finalize (GObject *object)
{
  PayRegistrar *self = PAY_REGISTRAR (object);

  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->agent, g_uri_unref);
  g_free (self->token);
  g_free (self->service_id);
  g_free (self->service_name);
  g_free (self->address);
  G_OBJECT_CLASS (pay_registrar_parent_class)->finalize (object);
}

static void
pay_registrar_class_init (PayRegistrarClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pay_registrar_dispose;
  object_class->finalize = pay_registrar_finalize;
}

/* ---------------------------------------------------------------------------------- */
/* Public API                                                                         */
/* ---------------------------------------------------------------------------------- */

PayRegistrar *
pay_registrar_new (const PayConfig *config, guint16 rpc_port, guint16 http_port, GError **error)
{
  g_autoptr(PayRegistrar) self = NULL;
  g_autoptr(GUri) agent = NULL;

  g_return_val_if_fail (config != NULL && config->consul.address != NULL, NULL);

  agent = parse_agent (config->consul.address, error);
  if (agent == NULL)
    return NULL;

  self = g_object_new (PAY_TYPE_REGISTRAR, NULL);
  self->agent = g_steal_pointer (&agent);
  self->token = g_strdup (config->consul.token);
  self->service_name = g_strdup (config->consul.service_name);
  self->address = pay_registrar_pick_address (config->server.host,
                                              config->consul.advertise_address);
  self->rpc_port = rpc_port;
  self->http_port = http_port;
  self->http_tls = config->http.tls_cert_file != NULL;
  self->check_interval_seconds = config->consul.check_interval_seconds;
  self->deregister_after_seconds = config->consul.deregister_critical_after_seconds;
  self->sync_interval_seconds = config->consul.sync_interval_seconds;
  self->service_id = g_strdup_printf ("%s-%s-%u", self->service_name, self->address, rpc_port);
  self->session = soup_session_new_with_options ("timeout", PAY_REGISTRAR_REQUEST_TIMEOUT_SECONDS,
                                                 "user-agent", "payment-service/" PAYMENT_VERSION,
                                                 NULL);
  return g_steal_pointer (&self);
}

void
pay_registrar_start (PayRegistrar *self)
{
  g_return_if_fail (PAY_IS_REGISTRAR (self));
  g_return_if_fail (!self->stopped);

  g_message ("registering with the Consul agent at %s:%d as %s",
             g_uri_get_host (self->agent), g_uri_get_port (self->agent), self->service_id);
  send_register (self);
}

gboolean
pay_registrar_is_registered (PayRegistrar *self)
{
  g_return_val_if_fail (PAY_IS_REGISTRAR (self), FALSE);
  return g_atomic_int_get (&self->registered);
}

const gchar *
pay_registrar_get_service_id (PayRegistrar *self)
{
  g_return_val_if_fail (PAY_IS_REGISTRAR (self), NULL);
  return self->service_id;
}

static void
on_deregistered (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  PayRegistrar *self = g_task_get_source_object (task);
  SoupMessage *msg = g_task_get_task_data (task);
  g_autofree gchar *reason = NULL;
  gboolean aborted;
  guint status = outcome (SOUP_SESSION (source), result, msg, &reason, &aborted);

  set_registered (self, FALSE);
  if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      g_warning ("Consul deregistration of %s failed: %s", self->service_id, reason);
      g_task_return_new_error (task, PAY_REGISTRAR_ERROR, PAY_REGISTRAR_ERROR_AGENT,
                               "deregistration failed: %s", reason);
      return;
    }
  g_message ("deregistered %s from Consul", self->service_id);
  g_task_return_boolean (task, TRUE);
}

void
pay_registrar_deregister_async (PayRegistrar        *self,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autofree gchar *id = NULL;
  g_autofree gchar *path = NULL;
  SoupMessage *msg;

  g_return_if_fail (PAY_IS_REGISTRAR (self));

  stop_background (self);
  task = g_task_new (self, NULL, callback, user_data);
  g_task_set_source_tag (task, pay_registrar_deregister_async);
  id = g_uri_escape_string (self->service_id, NULL, FALSE);
  path = g_strconcat (DEREGISTER_PATH, id, NULL);
  msg = new_message (self, SOUP_METHOD_PUT, path);
  g_task_set_task_data (task, msg, g_object_unref);
  soup_session_send_and_read_async (self->session, msg, G_PRIORITY_DEFAULT, NULL,
                                    on_deregistered, g_steal_pointer (&task));
}

gboolean
pay_registrar_deregister_finish (PayRegistrar *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
