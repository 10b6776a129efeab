/** systemd units for a VPS: one unit per process, worker units templated by instance number. */
import type { ProcessModel, ProjectModel } from '../model.js';
import { hashHeader } from './header.js';

/** A unit file and its path. */
export interface UnitFile {
  readonly path: string;
  readonly content: string;
}

/** Renders the units plus a target that starts them all. */
export function renderSystemdUnits(m: ProjectModel): UnitFile[] {
  const app = m.appName;
  const units = m.processes.filter((p) => p.replicas > 0).map((p) => ({ path: `deploy/systemd/${unitName(app, p)}`, content: unit(m, p) }));
  const wants = m.processes
    .filter((p) => p.replicas > 0)
    .flatMap((p) => (p.replicas > 1 ? Array.from({ length: p.replicas }, (_v, i) => `${app}-${p.name}@${i + 1}.service`) : [`${app}-${p.name}.service`]));
  const target = [
    hashHeader([
      `Install: copy deploy/systemd/* to /etc/systemd/system, create the user ${m.vps.user},`,
      `put the app in ${m.vps.appDir}, then: systemctl daemon-reload && systemctl enable --now ${app}.target`,
    ]).trimEnd(),
    '[Unit]',
    `Description=${app}: every process`,
    `Wants=${wants.join(' ')}`,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
  ].join('\n');
  return [...units, { path: `deploy/systemd/${app}.target`, content: `${target}\n` }];
}

function unitName(app: string, p: ProcessModel): string {
  return p.replicas > 1 ? `${app}-${p.name}@.service` : `${app}-${p.name}.service`;
}

function unit(m: ProjectModel, p: ProcessModel): string {
  const instance = p.replicas > 1 ? ' %i' : '';
  const lines = [
    hashHeader().trimEnd(),
    '[Unit]',
    `Description=${m.appName} ${p.name}${instance}`,
    'After=network-online.target',
    'Wants=network-online.target',
    `PartOf=${m.appName}.target`,
    '',
    '[Service]',
    'Type=simple',
    `User=${m.vps.user}`,
    `Group=${m.vps.user}`,
    `WorkingDirectory=${m.vps.appDir}`,
    'Environment=NODE_ENV=production',
    `Environment=SPOOLKIT_ROLE=${p.role}`,
    `Environment=SPOOLKIT_SPOOL=${m.vps.spoolDir}`,
    `Environment=SPOOLKIT_SHUTDOWN_TIMEOUT_MS=${m.options.shutdownTimeoutMs}`,
    ...(p.http ? [`Environment=PORT=${m.options.port}`] : []),
    ...(p.http && m.release !== null ? ['# The release command (migrations) runs before the web process starts.', `ExecStartPre=${execArgv(m, m.release)}`] : []),
    `ExecStart=${m.vps.nodePath} ${m.vps.appDir}/${m.spoolkitBin} entrypoint ${p.role}`,
    '# systemd creates /var/lib/<app> and the spool inside it for the user before starting; every unit shares them.',
    `StateDirectory=${m.vps.stateDirectories.join(' ')}`,
    '# SIGTERM goes to the entrypoint only, which passes it on once; a second signal would force a stop.',
    'KillMode=mixed',
    'KillSignal=SIGTERM',
    `TimeoutStopSec=${m.stopGraceSeconds}`,
    'Restart=on-failure',
    'RestartSec=2',
    'NoNewPrivileges=yes',
    'PrivateTmp=yes',
    'ProtectSystem=full',
    '',
    '[Install]',
    `WantedBy=${m.appName}.target`,
  ];
  return `${lines.join('\n')}\n`;
}

function execArgv(m: ProjectModel, argv: readonly string[]): string {
  const [first, ...rest] = argv;
  return [first === 'node' ? m.vps.nodePath : (first ?? ''), ...rest].join(' ');
}
