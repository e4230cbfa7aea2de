/* drm_sysfs.h - DRM cards as sysfs shows them: which cards are GPUs, their
 * identity, and their moving metrics (driver files and hwmon).
 *
 * Every path goes through the sys root (rootfs.h).  Which cards the source
 * shows (NVIDIA ones NVML owns are skipped) and processes are drm.c's.
 */
#ifndef GPUCTL_SOURCES_DRM_SYSFS_H
#define GPUCTL_SOURCES_DRM_SYSFS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"
#include "core/model.h"

#define DRM_CARD_MAX_NODES 4

struct drm_card {
    char name[16];                         /* "card0" */
    unsigned minor;                        /* 0 for card0 */
    char dir[PATH_MAX];                    /* <sys>/class/drm/card0 */
    char hwmon[PATH_MAX];                  /* its hwmon folder; "" when none */
    char nodes[DRM_CARD_MAX_NODES][16];    /* names under /dev/dri: card0, renderD128 */
    size_t node_count;
    bool has_busy;                         /* device/gpu_busy_percent exists */
    unsigned pci_vendor, pci_device;       /* 0 when not PCI */
    bool named_by_kernel;                  /* dev.name from product_name */
    struct device dev;                     /* identity and static facts */
};

/* Finds every DRM card that is a GPU: it has a render node, or it is a PCI
 * display controller (class 0x03).  Connectors (card0-DP-1), render nodes and
 * display-only platform devices (simpledrm) are not.  Sorted by PCI bus id,
 * then minor; non-PCI cards after PCI ones.  A card the kernel gives no
 * product_name is named from pci.ids (GPUCTL_PCI_IDS, else
 * /usr/share/misc/pci.ids or /usr/share/hwdata/pci.ids, when installed),
 * else "driver vvvv:dddd".  *cards is malloc'd (caller
 * frees; NULL when none).  A missing /sys/class/drm is zero cards, not an
 * error; -ENOMEM is. */
int drm_sysfs_scan(struct drm_card **cards, size_t *count, struct error *e);

/* Reads the moving metrics of c into d: a file that is missing or unreadable
 * leaves its field unknown.  Sets d->status when the card has gone. */
void drm_sysfs_refresh(const struct drm_card *c, struct device *d);

/* Parses a device's uevent ("DRIVER=amdgpu\nPCI_ID=1002:744C\n
 * PCI_SLOT_NAME=0000:03:00.0\n..."), buf[0..len) not NUL-terminated.  Fields
 * not found are left as they are (ids 0, strings ""). */
struct drm_uevent {
    char driver[32];
    unsigned vendor_id, device_id;
    unsigned pci_class;
    char slot[32];
};
void drm_sysfs_parse_uevent(const char *buf, size_t len, struct drm_uevent *out);

/* The device's name in a pci.ids file (buf[0..len), hwdata's format:
 * "vvvv  Vendor" lines with "\tdddd  Device" lines under them) into out.
 * False when the file does not list it. */
bool drm_sysfs_pci_ids_name(const char *buf, size_t len, unsigned vendor, unsigned device,
                            char *out, size_t size);

/* The vendor of a PCI vendor id, else of a driver name. */
enum vendor drm_sysfs_vendor(unsigned pci_vendor, const char *driver);

#endif
