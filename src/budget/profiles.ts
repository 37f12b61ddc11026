// Device profiles: a named budget of data memory, each from a representative part's datasheet.
// The figure is the part's whole on-chip SRAM (or DRAM for the Pi), an upper bound: the wasm
// runtime, an RTOS or Linux and the C stack live there too, and only whole 64 KiB pages of it
// become the linear memory (docs/budget.md).

export interface DeviceProfile {
  /** What `--budget` accepts. */
  readonly name: string;
  /** Data memory in bytes (datasheets' kB and MB are 1024 and 1024^2 bytes). */
  readonly bytes: number;
  readonly description: string;
  /** The document the figure comes from. */
  readonly source: string;
}

const KiB = 1024;
const MiB = 1024 * KiB;

export const PROFILES: readonly DeviceProfile[] = [
  {
    name: "cortex-m4",
    bytes: 256 * KiB,
    description: "Arm Cortex-M4F, e.g. STMicroelectronics STM32F429ZI (180 MHz, 2 MiB flash): 256 KiB SRAM",
    source: "STM32F427xx/STM32F429xx datasheet (DS9405): \"up to 256+4 Kbytes of SRAM including 64 Kbytes of CCM " +
      "data RAM\"; RM0090 section 2: SRAM1 112 KB + SRAM2 16 KB + SRAM3 64 KB on the bus matrix, plus the 64 KB " +
      "CCM RAM reachable by the CPU only (so 192 KiB of it is contiguous)",
  },
  {
    name: "cortex-m7",
    bytes: 512 * KiB,
    description: "Arm Cortex-M7, e.g. STMicroelectronics STM32F767ZI (216 MHz, 2 MiB flash): 512 KiB SRAM",
    source: "STM32F765xx/STM32F767xx datasheet (DS11532): \"512 Kbytes of SRAM (including 128 Kbytes of data TCM " +
      "RAM)\" plus 16 KB instruction TCM and 4 KB backup SRAM; RM0410 section 2: DTCM 128 KB + SRAM1 368 KB + " +
      "SRAM2 16 KB, contiguous from 0x20000000",
  },
  {
    name: "rp2040",
    bytes: 264 * KiB,
    description: "Raspberry Pi RP2040 (dual Cortex-M0+, 133 MHz): 264 KiB SRAM",
    source: "RP2040 Datasheet (Raspberry Pi Ltd), section \"SRAM\" (2.6.2; 2.5.2 in early revisions): \"a total of " +
      "264kB of on-chip SRAM\" in six banks, four of 64 kB and two of 4 kB, one contiguous region at 0x20000000",
  },
  {
    name: "esp32s3",
    bytes: 512 * KiB,
    description: "Espressif ESP32-S3 (dual Xtensa LX7, 240 MHz): 512 KiB internal SRAM",
    source: "ESP32-S3 Series Datasheet (Espressif), \"CPU and Memory\": 384 KB ROM, 512 KB SRAM, 16 KB SRAM in RTC; " +
      "part of the SRAM can be given to the instruction and data caches",
  },
  {
    name: "rpi-zero",
    bytes: 512 * MiB,
    description: "Raspberry Pi Zero (Broadcom BCM2835, ARM1176JZF-S, 1 GHz): 512 MiB LPDDR2 SDRAM",
    source: "Raspberry Pi Zero product specification (Raspberry Pi Foundation, 2015): BCM2835, 512MB LPDDR2 SDRAM, " +
      "shared with the VideoCore GPU and Linux",
  },
];

/** The profile called `name` (case-insensitive), or undefined. */
export function findProfile(name: string): DeviceProfile | undefined {
  const key = name.trim().toLowerCase();
  return PROFILES.find((p) => p.name === key);
}

export const PROFILE_NAMES: readonly string[] = PROFILES.map((p) => p.name);
