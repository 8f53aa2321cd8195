// The capture benches' shared bookkeeping: medians per (workload, variant) cell, and the markdown
// table of µs per row with each variant's ratio to the first (the no-trigger baseline).

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Samples per cell, keyed by workload and variant name. */
export class CellSamples {
  private readonly cells = new Map<string, number[]>();

  add(workload: string, variant: string, micros: number): void {
    const key = `${workload}\u0000${variant}`;
    this.cells.set(key, [...(this.cells.get(key) ?? []), micros]);
  }

  median(workload: string, variant: string): number {
    return median(this.cells.get(`${workload}\u0000${variant}`) ?? []);
  }
}

/** Rows: workloads; columns: variants, the first being the baseline the others are divided by. */
export function overheadTable(workloads: readonly { name: string }[], variants: readonly { name: string }[], samples: CellSamples): string[] {
  const baseline = variants[0]!.name;
  return [
    `| workload | ${variants.map((v) => v.name).join(' | ')} |`,
    `|---|${variants.map(() => '---:').join('|')}|`,
    ...workloads.map((workload) => {
      const base = samples.median(workload.name, baseline);
      const cells = variants.map((variant, i) => {
        const us = samples.median(workload.name, variant.name);
        return i === 0 ? `${us.toFixed(2)} µs` : `${us.toFixed(2)} µs (${(us / base).toFixed(2)}×)`;
      });
      return `| ${workload.name} | ${cells.join(' | ')} |`;
    }),
  ];
}
