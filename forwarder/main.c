/* main.c - siemfwd entry point (placeholder until the CLI lands). */
#include <stdio.h>
int main(void)
{
    puts("siemfwd " SIEMFWD_VERSION);
    return 0;
}
