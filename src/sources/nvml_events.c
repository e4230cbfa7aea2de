/* nvml_events.c - XID errors from NVML's event API, for the nvml source.
 *
 * At start the source registers every GPU that supports it for XID
 * critical-error events on one event set (nvml_xid_watch).  Each refresh
 * then drains what the driver queued since the last one, with
 * nvmlEventSetWait and a timeout of 0, so the call never sleeps
 * (nvml_xid_collect), and copies each GPU's tally into its device record
 * (nvml_xid_fill).  Polling from the refresh rather than waiting on a
 * thread of its own keeps the rule that only the feed's pass thread calls
 * the source (feed.h): no lock around the tallies, nothing to stop when
 * the source shuts down, and XIDs are rare enough that the driver's queue
 * holds them for one interval.  An XID is therefore seen at most one
 * interval late, and its time is when gpuctl received it.
 *
 * A driver without the event entry points, or a GPU that cannot be
 * registered, leaves the XID fields unknown: never 0.  Interpreting XIDs
 * (which are fatal) is left to the people and the alert rules reading them.
 */
#include <stdlib.h>

#include "sources/nvml_internal.h"

/* At most this many events are taken per refresh, so an event storm cannot
 * hold up the pass; the rest wait in the driver's queue for the next one. */
#define XID_DRAIN_MAX 256

static bool has_event_api(const struct nvml_api *api)
{
    return api->event_set_create && api->device_register_events && api->event_set_wait &&
           api->event_set_free;
}

/* Whether the driver says the GPU can report XIDs; without the query,
 * registering is the test. */
static bool supports_xid(const struct nvml_api *api, nvmlDevice_t h)
{
    unsigned long long types = 0;
    if (!api->device_get_supported_event_types)
        return true;
    return api->device_get_supported_event_types(h, &types) == NVML_SUCCESS &&
           (types & NVML_EVENT_TYPE_XID_CRITICAL_ERROR);
}

void nvml_xid_watch(struct nvml_state *s)
{
    const struct nvml_api *api = &s->api;
    s->events = NULL;
    if (!has_event_api(api) || api->event_set_create(&s->events) != NVML_SUCCESS) {
        s->events = NULL;
        return;
    }
    unsigned watched = 0;
    for (unsigned i = 0; i < s->count; i++) {
        struct nvml_device_state *ds = &s->devs[i];
        ds->xid = (struct nvml_xid){0};
        if (!ds->handle || !supports_xid(api, ds->handle))
            continue;
        /* NOT_SUPPORTED, NO_PERMISSION, a lost GPU: no XID data for it */
        ds->xid.watched = api->device_register_events(ds->handle, NVML_EVENT_TYPE_XID_CRITICAL_ERROR,
                                                      s->events) == NVML_SUCCESS;
        watched += ds->xid.watched;
    }
    if (watched == 0)
        nvml_xid_unwatch(s);
}

static struct nvml_device_state *device_of(struct nvml_state *s, nvmlDevice_t h)
{
    for (unsigned i = 0; i < s->count; i++)
        if (s->devs[i].handle == h && s->devs[i].xid.watched)
            return &s->devs[i];
    return NULL;
}

int nvml_xid_collect(struct nvml_state *s, double now)
{
    if (!s->events)
        return 0;
    int taken = 0;
    while (taken < XID_DRAIN_MAX) {
        nvml_event_data ev = {0};
        /* TIMEOUT means the queue is empty; any other failure (a GPU
         * fallen off the bus) ends this pass's draining, the next retries */
        if (s->api.event_set_wait(s->events, &ev, 0) != NVML_SUCCESS)
            break;
        taken++;
        struct nvml_device_state *ds = device_of(s, ev.device);
        if (!ds || !(ev.event_type & NVML_EVENT_TYPE_XID_CRITICAL_ERROR))
            continue;
        ds->xid.last = ev.event_data;
        ds->xid.count++;
        ds->xid.last_time = now;
    }
    return taken;
}

void nvml_xid_fill(const struct nvml_state *s, unsigned slot, struct device *d)
{
    const struct nvml_xid *x = &s->devs[slot].xid;
    if (!s->events || !x->watched)
        return;
    OPT_SET(d->xid_last, x->last);
    OPT_SET(d->xid_count, x->count);
    if (x->count > 0)
        OPT_SET(d->xid_last_time, x->last_time);
}

void nvml_xid_unwatch(struct nvml_state *s)
{
    if (!s->events)
        return;
    (void)s->api.event_set_free(s->events);   /* nothing to do if it fails */
    s->events = NULL;
    for (unsigned i = 0; i < s->count; i++)
        s->devs[i].xid.watched = false;
}
