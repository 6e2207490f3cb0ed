// Finds and loads the native addon: the one place that does (docs/architecture.md,
// "Installing: prebuilt binaries and the source build").
//
//   1. a source build of this package (build/Release, through `bindings`): present only
//      when the install script compiled one (no matching prebuilt, or
//      OPENSSL_SESSION_CACHE_BUILD_FROM_SOURCE=1) or a developer did (`npm run build`);
//   2. the prebuilt binary of this platform: the optional dependency
//      @openssl-session-cache/<platform>-<arch>-<libc>, which the package manager installs
//      only on a matching machine (its `os`/`cpu`/`libc` fields), at this package's version;
//   3. otherwise an error that names the platform looked for, what was tried and why each
//      failed, and the one command that fixes it.
//
// OPENSSL_SESSION_CACHE_ADDON=source|prebuilt restricts the search to one of the two.
import bindings from 'bindings';
import { ErrorCode } from '../common/coded_error';

/** the platform packages that are published (scripts/prebuild.js builds them) */
export const PREBUILT_PLATFORMS: readonly string[] = ['linux-x64-gnu', 'linux-arm64-gnu'];
export const PLATFORM_SCOPE = '@openssl-session-cache';

export interface AddonPlatform {
  platform: string;
  arch: string;
  /** 'gnu' or 'musl' on Linux; '' elsewhere */
  libc: string;
  /** `${platform}-${arch}` plus `-${libc}` on Linux: the platform package's suffix */
  id: string;
}

export interface LoadedAddon<T> {
  addon: T;
  /** 'source' (build/Release) or the platform package's name */
  from: string;
}

function linuxLibc(): string {
  // glibc's version is in the process report's header; musl has none
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return report?.header?.glibcVersionRuntime ? 'gnu' : 'musl';
}

export function addonPlatform(): AddonPlatform {
  const libc = process.platform === 'linux' ? linuxLibc() : '';
  const id = `${process.platform}-${process.arch}${libc ? `-${libc}` : ''}`;
  return { platform: process.platform, arch: process.arch, libc, id };
}

function packageVersion(): string | undefined {
  // dist/binding/addon_loader.js → the package root's package.json (a compiled tree copied
  // elsewhere has none: then any installed version of the platform package is taken)
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('../../package.json') as { version: string }).version;
  } catch {
    return undefined;
  }
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}

export class AddonNotFoundError extends Error {
  readonly code = ErrorCode.NO_ADDON;
  constructor(
    message: string,
    readonly platform: AddonPlatform,
    readonly tried: readonly string[],
    readonly fix: string,
  ) {
    super(message);
    this.name = 'AddonNotFoundError';
  }
}

export function loadAddon<T>(name: string): LoadedAddon<T> {
  const where = process.env.OPENSSL_SESSION_CACHE_ADDON || undefined;
  if (where !== undefined && where !== 'source' && where !== 'prebuilt') {
    throw new Error(`OPENSSL_SESSION_CACHE_ADDON must be 'source' or 'prebuilt' (or unset), not ${JSON.stringify(where)}`);
  }
  const plat = addonPlatform();
  const version = packageVersion();
  const pkg = `${PLATFORM_SCOPE}/${plat.id}`;
  const tried: string[] = [];

  if (where !== 'prebuilt') {
    try {
      return { addon: bindings(name) as T, from: 'source' };
    } catch (e) {
      const msg = firstLine(e);
      tried.push(`source build (build/Release/${name}.node): ${/Could not locate the bindings file/.test(msg) ? 'not built' : msg}`);
    }
  }
  if (where !== 'source') {
    if (!PREBUILT_PLATFORMS.includes(plat.id)) {
      tried.push(`prebuilt ${pkg}: none is published for ${plat.id}`);
    } else {
      try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const got = (require(`${pkg}/package.json`) as { version: string }).version;
        if (version !== undefined && got !== version) {
          tried.push(`prebuilt ${pkg}: version ${got} is installed, openssl-session-cache ${version} needs ${version}`);
        } else {
          // eslint-disable-next-line @typescript-eslint/no-require-imports
          return { addon: require(pkg) as T, from: pkg };
        }
      } catch (e) {
        const msg = firstLine(e);
        tried.push(`prebuilt ${pkg}${version ? `@${version}` : ''}: ${/Cannot find module/.test(msg) ? 'not installed' : msg}`);
      }
    }
  }
  const fix = PREBUILT_PLATFORMS.includes(plat.id)
    ? `npm install ${pkg}${version ? `@${version}` : ''}`
    : 'npm install-scripts approve openssl-session-cache && npm rebuild openssl-session-cache';
  const message =
    `openssl-session-cache: no native addon for ${plat.id} (${plat.platform}, ${plat.arch}${plat.libc ? `, libc ${plat.libc}` : ''}; Node ${process.versions.node}).\n` +
    `Tried:\n${tried.map((t) => `  - ${t}`).join('\n')}\n` +
    `Fix: ${fix}\n` +
    (PREBUILT_PLATFORMS.includes(plat.id)
      ? `(the prebuilt binary is an optional dependency: it is missing when optional dependencies were omitted or the lockfile was made on another platform. ` +
        `Or build from source: npm install-scripts approve openssl-session-cache && npm rebuild openssl-session-cache — needs python3, make, a C/C++ compiler and perl.)`
      : `(the install script builds OpenSSL 1.0.2h and the addon from source, a few minutes; it needs python3, make, a C/C++ compiler and perl. ` +
        `With pnpm: pnpm approve-builds, then pnpm rebuild openssl-session-cache.)`);
  throw new AddonNotFoundError(message, plat, tried, fix);
}
