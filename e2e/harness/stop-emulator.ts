// Stops exactly the processes start-emulator.ts started (PIDs from e2e/.tmp/emulator.json).
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { EMULATOR_FILE, type EmulatorInfo } from './paths.ts';
import { stopProcess } from './processes.ts';

if (existsSync(EMULATOR_FILE)) {
  const info = JSON.parse(readFileSync(EMULATOR_FILE, 'utf8')) as EmulatorInfo;
  await Promise.all([stopProcess(info.pids.front), stopProcess(info.pids.moto)]);
  rmSync(EMULATOR_FILE, { force: true });
}
