/* pay-thrift-autoptr.h: g_autoptr support for the Thrift C GLib types we hold, which
 * ship without it (G_DECLARE_FINAL_TYPE on a subclass needs the parent's). */
#pragma once

#include <thrift/c_glib/protocol/thrift_protocol.h>
#include <thrift/c_glib/thrift_application_exception.h>
#include <thrift/c_glib/thrift_struct.h>
#include <thrift/c_glib/transport/thrift_transport.h>

#include "payment_payment_types.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ThriftTransport, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ThriftProtocol, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ThriftApplicationException, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ThriftStruct, g_object_unref)
