/*
 * net_api.h - the test programs' names for one generated network's API.
 *
 * A test program is compiled once per network with -DNET=name
 * -DNETU=NAME -DNET_HEADER="\"name.h\"": API(forward) is name_forward,
 * MACRO(MAX_BATCH) is NAME_MAX_BATCH, STR(NET) is "name". Included by the
 * programs in tests/<dir>/ as "../net_api.h", so that the scripts which
 * compile them by hand (cross builds among them) need no include path.
 */
#ifndef NN_TESTS_NET_API_H
#define NN_TESTS_NET_API_H

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define API(f) CAT(NET, CAT(_, f))
#define MACRO(m) CAT(NETU, CAT(_, m))
#define STR_(x) #x
#define STR(x) STR_(x)

#endif
