"""Apple Music: the developer token that names the app (`developer`), the API gateway and its errors
(`client`), pure converters from Apple's resources to the records every source returns (`convert`), and a
listener's history read with the Music User Token MusicKit JS gave the browser (`history`). Only this
package talks to Apple Music; its errors are `SourceError`s a visitor can read."""
