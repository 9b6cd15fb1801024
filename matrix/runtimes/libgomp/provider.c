/* A provider that uses OpenMP: one parallel region of two threads starts libgomp's
 * worker thread, which then waits in libgomp for the next region. */
#include <omp.h>

int dlm_provider_fire(void)
{
	int members = 0;

#pragma omp parallel num_threads(2)
	{
#pragma omp atomic
		members++;
	}
	return members == 2 ? 0 : 1;
}
