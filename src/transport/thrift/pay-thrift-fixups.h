/* pay-thrift-fixups.h: start-up repairs for defects of Thrift C GLib 0.17 that cannot be
 * fixed in generated code (docs/THRIFT_C_GLIB.md). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Call once on the main thread before any worker thread starts:
 *  - makes ThriftApplicationException's finalizer chain up to GObject (defect 1);
 *  - registers every generated and library type up front, because the generated
 *    *_get_type() functions are not thread-safe (defect 5). */
void pay_thrift_fixups_install (void);

G_END_DECLS
