// FerrySigV4: AWS Signature Version 4 and the CloudFront signer.
