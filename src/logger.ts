// Structured JSON logs (winston). Lines about a DataMover carry namespace, name and phase; secret
// values are never logged (the operator never reads Secrets).
import winston from 'winston';

export function createLogger(level: string): winston.Logger {
  return winston.createLogger({
    level,
    format: winston.format.combine(
      winston.format.timestamp(),
      winston.format.errors({ stack: true }),
      winston.format.json(),
    ),
    defaultMeta: { logger: 'datamover-operator' },
    transports: [new winston.transports.Console({ stderrLevels: [] })],
  });
}
