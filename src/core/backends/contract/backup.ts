/**
 * What a backend module gives the backup side of the server (see ../types.ts).
 * Members are primitives on neutral types; the managers keep the orchestration.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface BackupSupport {}
