#include <stdio.h>
#include "version.h"
int main(void) { printf("gpuctl %s\n", GPUCTL_VERSION); return 0; }
