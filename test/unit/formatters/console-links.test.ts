import { describe, expect, it } from 'vitest';
import { LINK_URL_MAX } from '../../../functions/core/alert.ts';
import { consoleLink, consolePathLink } from '../../../functions/core/formatters/console-links.ts';

describe('consolePathLink', () => {
  it('links a page of the newer consoles by its path, with the region as a query', () => {
    expect(consolePathLink('Open', 'eu-west-1', 'ecs/v2/clusters/prod/tasks/abc/configuration')).toEqual({
      title: 'Open',
      url: 'https://eu-west-1.console.aws.amazon.com/ecs/v2/clusters/prod/tasks/abc/configuration?region=eu-west-1',
    });
    expect(consolePathLink('Open', 'cn-north-1', 'ecs/v2/clusters/prod')?.url).toBe(
      'https://console.amazonaws.cn/ecs/v2/clusters/prod?region=cn-north-1',
    );
  });

  it.each([
    ['a region that is not one', 'evil.example', 'ecs/v2'],
    ['a path that climbs out of the page', 'eu-west-1', 'ecs/../../elsewhere'],
    ['a path with a query of its own', 'eu-west-1', 'ecs/v2?region=us-east-1'],
  ])('refuses %s', (_case, region, path) => {
    expect(consolePathLink('Open', region, path)).toBeUndefined();
  });
});

describe('consoleLink', () => {
  it(`leaves out a link longer than ${LINK_URL_MAX} characters, which would make the alert invalid`, () => {
    const fits = 'x'.repeat(LINK_URL_MAX - 200);
    const long = 'x'.repeat(LINK_URL_MAX);

    expect(consoleLink('Open', 'us-east-1', 'ec2', fits)?.url).toHaveLength(
      'https://us-east-1.console.aws.amazon.com/ec2/home?region=us-east-1#'.length + fits.length,
    );
    expect(consoleLink('Open', 'us-east-1', 'ec2', long)).toBeUndefined();
    expect(consolePathLink('Open', 'us-east-1', long)).toBeUndefined();
  });
});
