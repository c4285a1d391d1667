# The release's version, shown by /version and the X-App-Version header.
VERSION = "v1"
