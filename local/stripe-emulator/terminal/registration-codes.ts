/**
 * One-time registration codes, as a real reader shows one on its screen (three words, `puppies-plug-could`): minted
 * by `POST /_emulator/registration_codes`, each registers one reader through `POST /v1/terminal/readers`, after which
 * it is used. Stripe's simulated codes (`simulated-wpe`, …) are not among them: those register any number of readers.
 */
import { randomInt } from 'node:crypto';
import type { SimulatedDeviceType } from '../options.ts';
import type { RegistrationCode, Store } from '../state/store.ts';

/** The words codes are made of: 256 short lowercase words, so about 16.7 million codes. */
const WORDS: readonly string[] = `
  acorn actor adapt agent alarm album alert alley amber angle apple apron arena arrow aspen atlas attic audio
  award bacon badge baker bamboo banjo barge basil basin beach beard bench berry bison blade blank blaze bloom
  board bonus boost brave bread brick brook brush bucket buddy bugle cabin cable cactus camel candy canoe canvas
  cargo carpet castle cedar chalk charm cherry chess chime cider cinema circle civic clay cliff clock cloud clover
  coast cobalt cocoa comet coral cotton could cradle crane crater cricket crisp crown daisy dance delta denim
  desert dinner dolphin donkey dragon dream drift drum eagle easel echo elbow ember engine fable falcon feast
  fence fern fiddle field flame flint flute forest fossil fox frost fudge galaxy garden garlic gecko giant ginger
  glacier globe glove goose grape gravel harbor hazel heron hollow honey horizon igloo index iris island ivory
  jacket jasmine jelly jewel jungle kayak kettle kiwi koala ladder lagoon lantern lemon lilac linen lizard lobster
  lotus magnet mango maple marble meadow melon mint mirror mitten monkey mosaic motor muffin nectar needle noodle
  nutmeg oasis ocean olive onion orbit orchid otter oyster paddle panda paper parrot pastry peach pebble pepper
  piano pickle pillow pilot planet plug plum pocket polar pony poppy puppies quartz quill rabbit radar radish
  raven ribbon river robin rocket saddle saffron salmon sapphire scarf sepia shell silver sketch sleigh socket
  spark spice sponge spruce squash stone sugar summit sunset syrup tablet tango teapot thistle thunder tiger
  timber toast tomato topaz torch tulip tunnel turtle velvet violet waffle walnut willow window winter
`
  .trim()
  .split(/\s+/);

function randomCode(): string {
  return Array.from({ length: 3 }, () => WORDS[randomInt(WORDS.length)]).join('-');
}

/**
 * Mint a new one-time code for a reader of `deviceType`, different from every code the store holds (all those minted
 * since the last reset).
 */
export function mintRegistrationCode(store: Store, deviceType: SimulatedDeviceType, now: number): RegistrationCode {
  let code = randomCode();
  while (store.registrationCodes.has(code)) code = randomCode();
  const minted: RegistrationCode = { code, deviceType, createdAt: now, reader: null };
  store.registrationCodes.set(code, minted);
  return minted;
}

/** The one-time code that registered `readerId`, if one did. */
export function codeOfReader(store: Store, readerId: string): string | undefined {
  for (const minted of store.registrationCodes.values()) {
    if (minted.reader === readerId) return minted.code;
  }
  return undefined;
}
