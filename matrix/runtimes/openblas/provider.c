/* A provider that uses OpenBLAS: a matrix product large enough to use the server threads. */
#include <cblas.h>

#define N 128

static double a[N * N], b[N * N], c[N * N];

int dlm_provider_fire(void)
{
	int i;

	for (i = 0; i < N * N; i++)
		a[i] = 1.0, b[i] = 2.0;
	cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, N, N, 1.0, a, N, b, N, 0.0, c, N);
	return c[0] == 2.0 * N ? 0 : 1;
}
