import { methodChecks } from './checks.ts';

methodChecks('class');
