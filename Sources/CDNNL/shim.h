#ifndef SPINEPLAN_CDNNL_SHIM_H
#define SPINEPLAN_CDNNL_SHIM_H
#include <dnnl.h>
#endif
