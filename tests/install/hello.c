/* The smallest application of an installed kc: proves headers and library are
 * found through pkg-config and through find_package(kc). */
#include <stdio.h>

#include <kc/kc.h>

int main(void)
{
    printf("kc %s %s\n", kc_version_str(), kc_err_name((kc_err_t)35));
    return 0;
}
