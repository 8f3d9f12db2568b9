#ifndef SPINEPLAN_CZLIB_SHIM_H
#define SPINEPLAN_CZLIB_SHIM_H
#include <zlib.h>
#endif
