#include "CFerryMalloc.h"
