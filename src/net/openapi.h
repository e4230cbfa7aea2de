/* openapi.h - the OpenAPI 3.1 description served at /api/v1/openapi.json,
 * embedded at build time from src/net/openapi.json. */
#ifndef GPUCTL_NET_OPENAPI_H
#define GPUCTL_NET_OPENAPI_H

extern const char net_openapi_json[];

#endif
