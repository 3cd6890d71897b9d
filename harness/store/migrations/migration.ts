// One schema change: `up` moves the database from version-1 to version, `down` moves it back.
export interface Migration {
  version: number;
  name: string;
  up: string;
  down: string;
}
