"""The Appwrite server version the development kit stands in for: the emulator reports it at
`/health/version`, and the local runtime host gives it to the function as APPWRITE_VERSION."""

SERVER_VERSION = "2.5.0"
