// A setupFiles entry of every vitest project: after each test file, remove the scratch folders its
// tests and support code made (test/support/tempdirs.ts). Registered before the file's own hooks,
// so it runs after them (vitest runs after-hooks in reverse order): servers are stopped first.
import { afterAll } from 'vitest';
import { removeTempDirs } from './tempdirs.js';

afterAll(() => removeTempDirs());
