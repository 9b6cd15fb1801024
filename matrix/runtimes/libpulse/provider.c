/* A provider that uses libpulse: a threaded main loop, started and kept. */
#include <pulse/thread-mainloop.h>
#include <stddef.h>

static pa_threaded_mainloop *loop;

int dlm_provider_fire(void)
{
	if (loop)
		return 0;
	loop = pa_threaded_mainloop_new();
	return loop && pa_threaded_mainloop_start(loop) == 0 ? 0 : 1;
}
