/**
 * zod/mini, with the English messages classic zod registers. Classic zod installs its English locale when it builds
 * its first schema; zod/mini installs none, and an issue without a message of ours would read only "Invalid input".
 * Schemas import zod from here so that a 400's details keep saying, for instance, "Invalid input: expected number,
 * received string".
 */
import { en } from 'zod/locales';
import { config } from 'zod/mini';

if (!config().localeError) config(en());

export * from 'zod/mini';
