/* A provider that uses GLib and GIO: a thread pool, kept, with work pushed to it.
 * It returns once the work is done: the pool's threads then hold no pointer into
 * the provider, so what runs after its dlclose() is GLib's code alone. */
#include <gio/gio.h>

#define ITEMS 4

static GThreadPool *pool;
static gint done;

static void work(gpointer item, gpointer user_data)
{
	(void)item, (void)user_data;
	g_atomic_int_inc(&done);
}

int dlm_provider_fire(void)
{
	GFile *here = g_file_new_for_path("."); /* brings GIO in for real */
	int i, target;

	g_object_unref(here);
	if (!pool && !(pool = g_thread_pool_new(work, NULL, 2, FALSE, NULL)))
		return 1;
	target = g_atomic_int_get(&done) + ITEMS;
	for (i = 0; i < ITEMS; i++)
		g_thread_pool_push(pool, GINT_TO_POINTER(i + 1), NULL);
	while (g_atomic_int_get(&done) < target)
		g_usleep(1000);
	return 0;
}
