/* A provider that uses libuv: one piece of work on the thread pool, run to completion. */
#include <uv.h>

static void work(uv_work_t *request)
{
	(void)request;
}

static void after(uv_work_t *request, int status)
{
	(void)request, (void)status;
}

int dlm_provider_fire(void)
{
	uv_loop_t loop;
	uv_work_t request;

	if (uv_loop_init(&loop) || uv_queue_work(&loop, &request, work, after))
		return 1;
	uv_run(&loop, UV_RUN_DEFAULT);
	return uv_loop_close(&loop) ? 1 : 0;
}
