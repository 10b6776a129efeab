// Types for the parts of report.mjs that tests use.

/** The machine a case ran on, as bench/lib/machine.mjs describes it. */
export interface BenchMachine {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  filesystem: { dir?: string; source: string | null; type: string | null; options: string | null; statf?: string | null };
}

export function headlineMarkdown(report: object): string;
export function fullTable(report: object): string;
export function machineGroups(report: object): { machine: BenchMachine; groups: string[] }[];
