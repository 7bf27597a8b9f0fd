// What a Dockerfile's final stage puts under a folder, read from the file itself: its COPY lines
// (source in the build stage, destination in the image), the files a RUN line writes there with
// `printf '...' > path`, and its ENTRYPOINT, USER and ENV. The real tier checks the locally assembled
// mover image against mover/Dockerfile with it.

export interface CopyLine {
  from: string | undefined;
  source: string;
  destination: string;
}

export interface FinalStage {
  copies: CopyLine[];
  /** Files a RUN line writes with printf, by path, with their content. */
  written: Record<string, string>;
  entrypoint: string[] | undefined;
  user: string | undefined;
  env: Record<string, string>;
  /** WORKDIR: relative COPY destinations are resolved against it. */
  workdir: string | undefined;
  /** EXPOSE's ports, as `8080/tcp`. */
  exposed: string[];
}

/** Joins continuation lines and drops comments and blank lines. */
function instructions(text: string): string[] {
  const out: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!current && (line === '' || line.startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    out.push(`${current}${line}`.trim());
    current = '';
  }
  if (current) out.push(current.trim());
  return out;
}

/** printf's format with only the escapes Dockerfiles use here: \n, \t, \\. */
function printfText(format: string): string {
  return format.replace(/\\([nt\\])/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : '\\'));
}

export function parseFinalStage(text: string): FinalStage {
  const all = instructions(text);
  const lastFrom = all.map((i) => /^FROM\s/i.test(i)).lastIndexOf(true);
  if (lastFrom < 0) throw new Error('no FROM in the Dockerfile');
  const stage: FinalStage = {
    copies: [],
    written: {},
    entrypoint: undefined,
    user: undefined,
    env: {},
    workdir: undefined,
    exposed: [],
  };
  for (const ins of all.slice(lastFrom + 1)) {
    const [keyword = '', ...rest] = ins.split(/\s+/);
    const args = rest.join(' ');
    switch (keyword.toUpperCase()) {
      case 'COPY': {
        const words = args.split(/\s+/);
        const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
        const paths = words.filter((w) => !w.startsWith('--'));
        if (paths.length !== 2)
          throw new Error(`COPY with other than one source and one destination: ${ins}`);
        const destination = paths[1]!.startsWith('/')
          ? paths[1]!
          : `${(stage.workdir ?? '/').replace(/\/$/, '')}/${paths[1]!.replace(/^\.\//, '')}`;
        stage.copies.push({ from, source: paths[0]!, destination });
        break;
      }
      case 'RUN': {
        for (const m of args.matchAll(/printf\s+'([^']*)'\s*>\s*(\S+)/g))
          stage.written[m[2]!] = printfText(m[1]!);
        break;
      }
      case 'ENTRYPOINT':
        stage.entrypoint = JSON.parse(args) as string[];
        break;
      case 'USER':
        stage.user = args;
        break;
      case 'WORKDIR':
        stage.workdir = args;
        break;
      case 'EXPOSE':
        stage.exposed.push(...args.split(/\s+/).map((p) => (p.includes('/') ? p : `${p}/tcp`)));
        break;
      case 'ENV':
        for (const m of args.matchAll(/(\w+)=(\S+)/g)) stage.env[m[1]!] = m[2]!;
        break;
    }
  }
  return stage;
}

/** The COPY lines whose destination lies in `folder` (e.g. /app). */
export function copiesInto(stage: FinalStage, folder: string): CopyLine[] {
  return stage.copies.filter((c) => c.destination === folder || c.destination.startsWith(`${folder}/`));
}
