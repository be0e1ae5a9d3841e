import { apiSuite } from './api-suite.js';
import { trainedFixture } from './helper.js';

apiSuite(trainedFixture);
