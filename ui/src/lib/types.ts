// The JSON shapes the app's commands return and take (docs/app.md). They are generated from
// the Rust types (the app's DTOs in src-tauri/src/dto.rs and sesame-ipc's wire types) into
// ./generated/, which a test in src-tauri keeps current (src-tauri/README.md says how to
// regenerate). Times are Unix seconds. None of them ever carries a token.

export type { AccountChoice } from './generated/AccountChoice';
export type { AccountInfo } from './generated/AccountInfo';
export type { AccountStatus } from './generated/AccountStatus';
export type { AccountView } from './generated/AccountView';
export type { ActivityEvent } from './generated/ActivityEvent';
export type { ActivityInfo } from './generated/ActivityInfo';
export type { AppErrorKind } from './generated/AppErrorKind';
export type { AppInfo } from './generated/AppInfo';
export type { BrokerEvent } from './generated/BrokerEvent';
export type { ChangedPart } from './generated/ChangedPart';
export type { CommandError } from './generated/CommandError';
export type { CommandErrorKind } from './generated/CommandErrorKind';
export type { ConsentView } from './generated/ConsentView';
export type { ContentChange } from './generated/ContentChange';
export type { ContentUpdate } from './generated/ContentUpdate';
export type { CoreState } from './generated/CoreState';
export type { Decision } from './generated/Decision';
export type { ErrorKind } from './generated/ErrorKind';
export type { FileContent } from './generated/FileContent';
export type { FlatpakContent } from './generated/FlatpakContent';
export type { GrantInfo } from './generated/GrantInfo';
export type { LoginDeviceStartResult } from './generated/LoginDeviceStartResult';
export type { LoginStarted } from './generated/LoginStarted';
export type { LogoutResult } from './generated/LogoutResult';
export type { Overview } from './generated/Overview';
export type { Package } from './generated/Package';
export type { PackageUpgrade } from './generated/PackageUpgrade';
export type { PendingInfo } from './generated/PendingInfo';
export type { ProgramContent } from './generated/ProgramContent';
export type { ProviderInfo } from './generated/ProviderInfo';
export type { ProvidersView } from './generated/ProvidersView';
export type { ReloadFailure } from './generated/ReloadFailure';
export type { ReloadResult } from './generated/ReloadResult';
export type { Remedy } from './generated/Remedy';
export type { Revocation } from './generated/Revocation';
export type { ScopeSet } from './generated/ScopeSet';
export type { ScopeWords } from './generated/ScopeWords';
export type { UpdateReason } from './generated/UpdateReason';

