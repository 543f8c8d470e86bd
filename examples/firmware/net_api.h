/*
 * net_api.h - the firmware programs' names for the API of the network they
 * are built with: -DNET=name -DNETU=NAME -DNET_HEADER="\"name.h\"" make
 * API(forward) name_forward, MACRO(MAX_BATCH) NAME_MAX_BATCH and STR(NET)
 * "name", so one main.c serves every network.
 */
#ifndef NN_FIRMWARE_NET_API_H
#define NN_FIRMWARE_NET_API_H

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define API(f) CAT(NET, CAT(_, f))
#define MACRO(m) CAT(NETU, CAT(_, m))
#define STR_(x) #x
#define STR(x) STR_(x)

#endif
